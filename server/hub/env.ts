// Where the Hub is and who we are, read the way huggingface_hub reads it so that a shell configured for the
// Python tools works unchanged (HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubEnvironment {
  /** Base URL of the Hub (or a mirror, or a local fake hub), without a trailing slash. */
  endpoint: string;
  /** Access token, if any. Never logged. */
  token: string | undefined;
  /** The shared model cache (models--org--name/{blobs,snapshots,refs}). */
  hubCache: string;
  offline: boolean;
}

function hfHome(env: NodeJS.ProcessEnv): string {
  if (env.HF_HOME) return env.HF_HOME;
  const xdgCache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdgCache, 'huggingface');
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}

/** HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then the file `huggingface-cli login` writes ($HF_HOME/token). */
export function tokenFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromVariable = env.HF_TOKEN?.trim() || env.HUGGING_FACE_HUB_TOKEN?.trim();
  if (fromVariable) return fromVariable;
  const tokenPath = env.HF_TOKEN_PATH || join(hfHome(env), 'token');
  try {
    return readFileSync(tokenPath, 'utf8').trim() || undefined;
  } catch {
    return undefined; // no stored login: anonymous access
  }
}

export function hubEnvironment(env: NodeJS.ProcessEnv = process.env): HubEnvironment {
  const endpoint = (env.HF_ENDPOINT?.trim() || DEFAULT_ENDPOINT).replace(/\/+$/, '');
  return {
    endpoint,
    token: tokenFromEnvironment(env),
    hubCache: env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(hfHome(env), 'hub'),
    offline: isTruthy(env.HF_HUB_OFFLINE),
  };
}
