// The Hub's JSON API as the downloader uses it: model info (revision -> commit), access check, file tree.
import { HubError } from './errors.js';
import { hubFetch } from './http.js';
import { DEFAULT_RETRY_POLICY, withRetries, type RetryPolicy } from './retry.js';

export interface HubConnection {
  endpoint: string;
  token: string | undefined;
  signal?: AbortSignal;
  retryPolicy?: RetryPolicy;
}

export interface ModelInfo {
  id: string;
  /** Commit the requested revision points at. */
  sha: string;
  /** false, "auto" or "manual". */
  gated: false | string;
}

export interface RepoFile {
  path: string;
  size: number;
  /** git blob sha1 of the file (for LFS files: of the pointer). */
  gitOid: string;
  /** sha256 of the content, for LFS files. */
  lfsSha256: string | undefined;
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

export function validateRepoId(repoId: string): void {
  if (!REPO_ID.test(repoId) || repoId.includes('..') || repoId.includes('--')) {
    throw new HubError('repo-not-found', `"${repoId}" is not a Hugging Face repo id (expected org/name).`);
  }
}

export function modelPage(connection: HubConnection, repoId: string): string {
  return `${connection.endpoint}/${repoId}`;
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

async function getJson(connection: HubConnection, url: string, repoId: string, what: string, revision?: string): Promise<{ json: unknown; response: Response }> {
  return withRetries(connection.retryPolicy ?? DEFAULT_RETRY_POLICY, connection.signal, async () => {
    const response = await hubFetch({
      url,
      token: connection.token,
      trustedOrigin: new URL(connection.endpoint).origin,
      signal: connection.signal,
      headers: { accept: 'application/json' },
      context: { repoId, modelPage: modelPage(connection, repoId), hadToken: connection.token !== undefined, revision },
      what,
    });
    const text = await response.text();
    try {
      return { json: JSON.parse(text) as unknown, response };
    } catch (error) {
      throw new HubError('server', `The Hub sent invalid JSON while ${what}: ${text.slice(0, 200)}`, { cause: error });
    }
  });
}

export async function modelInfo(connection: HubConnection, repoId: string, revision: string): Promise<ModelInfo> {
  const url = `${connection.endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}`;
  const { json } = await getJson(connection, url, repoId, `reading ${repoId}'s model info`, revision);
  const info = json as { id?: unknown; sha?: unknown; gated?: unknown };
  if (typeof info.sha !== 'string' || !/^[0-9a-f]{40}$/.test(info.sha)) {
    throw new HubError('server', `The Hub's model info for ${repoId} has no commit sha.`);
  }
  return {
    id: typeof info.id === 'string' ? info.id : repoId,
    sha: info.sha,
    gated: typeof info.gated === 'string' ? info.gated : false,
  };
}

/** Throws the gating error (login / license not accepted / pending review) if the token cannot read the repo. */
export async function checkAccess(connection: HubConnection, repoId: string): Promise<void> {
  await getJson(connection, `${connection.endpoint}/api/models/${repoId}/auth-check`, repoId, `checking access to ${repoId}`);
}

/** Every file of the repo at a commit (follows the Link: rel="next" pagination). */
export async function listFiles(connection: HubConnection, repoId: string, commit: string): Promise<RepoFile[]> {
  const files: RepoFile[] = [];
  let url: string | undefined = `${connection.endpoint}/api/models/${repoId}/tree/${commit}?recursive=true`;
  for (let page = 0; url !== undefined; page++) {
    if (page > 10_000) throw new HubError('server', `The Hub's file list for ${repoId} does not end.`);
    const { json, response } = await getJson(connection, url, repoId, `listing ${repoId}'s files`, commit);
    if (!Array.isArray(json)) throw new HubError('server', `The Hub's file list for ${repoId} is not a list.`);
    for (const entry of json as unknown[]) {
      const file = parseTreeEntry(entry);
      if (file) files.push(file);
    }
    url = nextPageUrl(response.headers.get('link'), url);
  }
  return files;
}

function parseTreeEntry(entry: unknown): RepoFile | undefined {
  const item = entry as { type?: unknown; path?: unknown; size?: unknown; oid?: unknown; lfs?: { oid?: unknown; size?: unknown } };
  if (item.type !== 'file' || typeof item.path !== 'string' || typeof item.oid !== 'string') return undefined;
  const lfsSha256 = typeof item.lfs?.oid === 'string' ? item.lfs.oid : undefined;
  const size = typeof item.lfs?.size === 'number' ? item.lfs.size : item.size;
  if (typeof size !== 'number') return undefined;
  return { path: item.path, size, gitOid: item.oid, lfsSha256 };
}

function nextPageUrl(link: string | null, current: string): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (match?.[1]) return new URL(match[1], current).toString();
  }
  return undefined;
}

/** URL of a file's content at a commit. */
export function resolveUrl(connection: HubConnection, repoId: string, commit: string, path: string): string {
  return `${connection.endpoint}/${repoId}/resolve/${commit}/${encodePath(path)}`;
}
