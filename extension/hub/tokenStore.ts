// The Hugging Face token: kept in VS Code's SecretStorage (the OS keychain), never in settings or logs.
// HF_TOKEN in the environment is honoured when nothing is stored; the CLI also reads HF_HOME/token by itself.

/** The part of vscode.SecretStorage used here (lets tests use a plain map). */
export interface SecretStore {
  get(key: string): Thenable<string | undefined>;
  store(key: string, value: string): Thenable<void>;
  delete(key: string): Thenable<void>;
}

export const TOKEN_SECRET_KEY = 'layerskip.huggingFaceToken';

export type TokenSource = 'secret-storage' | 'environment' | 'none';

export class TokenStore {
  constructor(
    private readonly secrets: SecretStore,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The stored token, else HF_TOKEN / HUGGING_FACE_HUB_TOKEN from the environment. */
  async current(): Promise<{ token: string | undefined; source: TokenSource }> {
    const stored = (await this.secrets.get(TOKEN_SECRET_KEY))?.trim();
    if (stored) return { token: stored, source: 'secret-storage' };
    const fromEnv = this.env.HF_TOKEN?.trim() || this.env.HUGGING_FACE_HUB_TOKEN?.trim();
    return fromEnv ? { token: fromEnv, source: 'environment' } : { token: undefined, source: 'none' };
  }

  async save(token: string): Promise<void> {
    const problem = validateToken(token);
    if (problem) throw new Error(problem);
    await this.secrets.store(TOKEN_SECRET_KEY, token.trim());
  }

  async forget(): Promise<void> {
    await this.secrets.delete(TOKEN_SECRET_KEY);
  }
}

/** A message for the input box, or undefined when the text looks like a token (hf_ + letters and digits). */
export function validateToken(text: string): string | undefined {
  const token = text.trim();
  if (token === '') return 'Paste a token (https://huggingface.co/settings/tokens)';
  if (/\s/.test(token)) return 'A token has no spaces';
  if (!/^hf_[A-Za-z0-9]{20,}$/.test(token)) return 'Hugging Face tokens look like hf_ followed by letters and digits';
  return undefined;
}
