// The remote server's API key (layerskip.remoteUrl): kept in VS Code's SecretStorage (the OS keychain), never in the
// settings or a log. It reaches the server in the initialization options of each start and by
// layerskip/setRemoteApiKey whenever it changes (in this window or another one).
import * as vscode from 'vscode';

export const REMOTE_API_KEY_SECRET = 'layerskip.remoteApiKey';

export class RemoteApiKey implements vscode.Disposable {
  private key: string | null = null;
  private readonly subscription: vscode.Disposable;

  /** Changes are applied one after the other, in the order they happened. */
  private applied: Promise<void> = Promise.resolve();

  private constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly onChange: (key: string | null) => Promise<void>,
    private readonly log: (message: string) => void,
  ) {
    this.subscription = secrets.onDidChange((event) => {
      if (event.key !== REMOTE_API_KEY_SECRET) return;
      this.applied = this.applied.then(async () => {
        this.key = (await secrets.get(REMOTE_API_KEY_SECRET)) ?? null;
        await this.onChange(this.key);
      }).catch((error: unknown) => this.log(`the remote API key did not reach the server (it will at its next start): ${error instanceof Error ? error.message : String(error)}`));
    });
  }

  static async load(secrets: vscode.SecretStorage, onChange: (key: string | null) => Promise<void>, log: (message: string) => void): Promise<RemoteApiKey> {
    const store = new RemoteApiKey(secrets, onChange, log);
    store.key = (await secrets.get(REMOTE_API_KEY_SECRET)) ?? null;
    return store;
  }

  /** The key as the server's next start should get it. */
  get current(): string | null {
    return this.key;
  }

  /** Asks for the key (a password box) and stores it; false when the user cancelled. */
  async ask(): Promise<boolean> {
    const key = await vscode.window.showInputBox({
      title: 'LayerSkip: remote server API key',
      prompt: 'The key the server at layerskip.remoteUrl expects (sent as "Authorization: Bearer <key>"). Kept in the secret storage.',
      password: true,
      ignoreFocusOut: true,
      validateInput: (text) => (text.trim() === '' ? 'Paste the key' : /\s/.test(text.trim()) ? 'A key has no spaces' : undefined),
    });
    if (key === undefined) return false;
    await this.secrets.store(REMOTE_API_KEY_SECRET, key.trim());
    return true;
  }

  async forget(): Promise<void> {
    await this.secrets.delete(REMOTE_API_KEY_SECRET);
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
