// The Hugging Face token: kept in VS Code's SecretStorage (the OS keychain), never in settings or logs.
// When nothing is stored: HF_TOKEN / HUGGING_FACE_HUB_TOKEN from the environment, then the file
// `huggingface-cli login` writes ($HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token).
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The part of vscode.SecretStorage used here (lets tests use a plain map). */
export interface SecretStore {
  get(key: string): Thenable<string | undefined>;
  store(key: string, value: string): Thenable<void>;
  delete(key: string): Thenable<void>;
}

export const TOKEN_SECRET_KEY = 'layerskip.huggingFaceToken';

export type TokenSource = 'secret-storage' | 'environment' | 'hf-login-file' | 'none';

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
    if (fromEnv) return { token: fromEnv, source: 'environment' };
    const fromFile = (await readFile(this.loginFile(), 'utf8').catch(() => '')).trim();
    return fromFile ? { token: fromFile, source: 'hf-login-file' } : { token: undefined, source: 'none' };
  }

  private loginFile(): string {
    if (this.env.HF_TOKEN_PATH) return this.env.HF_TOKEN_PATH;
    const hfHome = this.env.HF_HOME || join(this.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
    return join(hfHome, 'token');
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
