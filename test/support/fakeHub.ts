// A local stand-in for the Hugging Face Hub on 127.0.0.1 (two ports: the hub and its "CDN"), speaking the endpoints
// the downloader uses with the Hub's headers and error codes (see /work/shared/notes/hf-hub.md), plus switches to
// inject faults. Servers are unref'd, close themselves after `lifetimeMs`, and refuse work past `maxRequests`, so
// a test that forgets to close them cannot hang the run.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, sep } from 'node:path';

export interface FakeFile {
  content: Uint8Array;
  /** Served like a Git LFS file: 302 from /resolve to the CDN, hashed with sha256. */
  lfs: boolean;
}

export interface FakeRepo {
  files: Record<string, FakeFile>;
  commit?: string;
  /** Branch / tag names the repo answers to (default ["main"]). */
  revisions?: string[];
  gated?: false | 'auto' | 'manual';
  /** Listing size reported for a file, overriding its real size (to exercise the free-space check). */
  reportedSizes?: Record<string, number>;
}

/** Access a token has: anything else sent as a token is rejected as invalid. */
export type TokenAccess = 'ok' | 'not-accepted' | 'pending';

export interface Faults {
  /**
   * Close the connection once byte `afterBytes` of `path` is reached, `times` times; with `perResponse`, after
   * `afterBytes` bytes of each response instead (a link that keeps dropping while the transfer moves on).
   */
  drop?: { path: string; afterBytes: number; times: number; perResponse?: boolean };
  /** Stop sending (connection left open) after this many bytes of `path`, `times` times. */
  stall?: { path: string; afterBytes: number; times: number };
  /** Flip one byte of `path` at `offset` (same length: only the checksum can notice). */
  corrupt?: { path: string; offset: number };
  /** Answer Range requests with 200 and the whole file. */
  ignoreRange?: boolean;
  /** Answer the next N API/resolve requests with 429 (Retry-After: 0) / 503. */
  rateLimitOnce?: number;
  unavailableOnce?: number;
  /** The next N CDN requests get 403 as an expired signed URL would. */
  expiredUrlOnce?: number;
}

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  range: string | undefined;
  authorization: string | undefined;
  status: number;
}

export interface FakeHub {
  /** HF_ENDPOINT for the code under test. */
  endpoint: string;
  cdnOrigin: string;
  repos: Map<string, FakeRepo>;
  tokens: Map<string, TokenAccess>;
  faults: Faults;
  log: LoggedRequest[];
  /** Requests that reached the CDN carrying an Authorization header (must stay empty). */
  leakedAuthorization: LoggedRequest[];
  treePageSize: number;
  close(): Promise<void>;
}

export function gitBlobSha1(content: Uint8Array): string {
  return createHash('sha1').update(`blob ${content.byteLength}\0`).update(content).digest('hex');
}

const sha256Cache = new WeakMap<Uint8Array, string>();

/** sha256 of a file's content, memoised: the fake hub needs it on every request for an LFS file. */
export function sha256(content: Uint8Array): string {
  let digest = sha256Cache.get(content);
  if (digest === undefined) {
    digest = createHash('sha256').update(content).digest('hex');
    sha256Cache.set(content, digest);
  }
  return digest;
}

function fakeCommit(repoId: string): string {
  return createHash('sha1').update(`commit ${repoId}`).digest('hex');
}

interface Options {
  repos?: Record<string, FakeRepo>;
  tokens?: Record<string, TokenAccess>;
  maxRequests?: number;
  lifetimeMs?: number;
  treePageSize?: number;
}

export async function startFakeHub(options: Options = {}): Promise<FakeHub> {
  const maxRequests = options.maxRequests ?? 5_000;
  let requestCount = 0;
  const hubServer = createServer();
  const cdnServer = createServer();
  await Promise.all([listen(hubServer), listen(cdnServer)]);
  const endpoint = `http://127.0.0.1:${(hubServer.address() as AddressInfo).port}`;
  const cdnOrigin = `http://127.0.0.1:${(cdnServer.address() as AddressInfo).port}`;

  const hub: FakeHub = {
    endpoint,
    cdnOrigin,
    repos: new Map(Object.entries(options.repos ?? {})),
    tokens: new Map(Object.entries(options.tokens ?? {})),
    faults: {},
    log: [],
    leakedAuthorization: [],
    treePageSize: options.treePageSize ?? 50,
    close: () => Promise.all([close(hubServer), close(cdnServer)]).then(() => undefined),
  };

  const track = (server: 'hub' | 'cdn', request: IncomingMessage, response: ServerResponse): LoggedRequest => {
    const entry: LoggedRequest = {
      server,
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      range: request.headers.range,
      authorization: request.headers.authorization,
      status: 0,
    };
    hub.log.push(entry);
    response.on('finish', () => (entry.status = response.statusCode));
    response.on('close', () => (entry.status ||= response.statusCode));
    return entry;
  };

  hubServer.on('request', (request, response) => {
    track('hub', request, response);
    if (++requestCount > maxRequests) return send(response, 503, 'fake hub request limit reached');
    try {
      handleHub(hub, request, response);
    } catch (error) {
      send(response, 500, String(error));
    }
  });
  cdnServer.on('request', (request, response) => {
    const entry = track('cdn', request, response);
    if (++requestCount > maxRequests) return send(response, 503, 'fake hub request limit reached');
    if (entry.authorization !== undefined) {
      hub.leakedAuthorization.push(entry);
      return send(response, 400, 'the CDN must not receive Authorization');
    }
    handleCdn(hub, request, response);
  });

  const lifetime = setTimeout(() => void hub.close(), options.lifetimeMs ?? 120_000);
  lifetime.unref();
  return hub;
}

function listen(server: Server): Promise<void> {
  server.unref();
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function send(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'text/plain', ...headers });
  response.end(body);
}

function sendError(response: ServerResponse, status: number, message: string, code?: string, head = false): void {
  const headers: Record<string, string> = { 'x-error-message': message, 'content-type': 'application/json' };
  if (code) headers['x-error-code'] = code;
  response.writeHead(status, headers);
  response.end(head ? undefined : JSON.stringify({ error: message }));
}

function sendJson(response: ServerResponse, value: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(200, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(value));
}

function bearer(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}

/** The Hub's token and gating rules; returns false after answering with the error. */
function authorize(hub: FakeHub, repoId: string, repo: FakeRepo, request: IncomingMessage, response: ServerResponse, enforceGate: boolean): boolean {
  const head = request.method === 'HEAD';
  const token = bearer(request);
  const access = token === undefined ? undefined : hub.tokens.get(token);
  if (token !== undefined && access === undefined) {
    sendError(response, 401, 'Invalid credentials in Authorization header', undefined, head);
    return false;
  }
  if (!enforceGate || !repo.gated) return true;
  if (access === undefined) {
    sendError(response, 401, `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.`, 'GatedRepo', head);
    return false;
  }
  if (access === 'not-accepted') {
    sendError(response, 403, `Access to model ${repoId} is restricted and you are not in the authorized list. Visit https://huggingface.co/${repoId} to ask for access.`, 'GatedRepo', head);
    return false;
  }
  if (access === 'pending') {
    sendError(response, 403, `Your request to access model ${repoId} is awaiting a review from the repo authors.`, 'GatedRepo', head);
    return false;
  }
  return true;
}

function takeOnce(faults: Faults, key: 'rateLimitOnce' | 'unavailableOnce' | 'expiredUrlOnce'): boolean {
  const left = faults[key] ?? 0;
  if (left <= 0) return false;
  faults[key] = left - 1;
  return true;
}

function resolveCommit(repoId: string, repo: FakeRepo, revision: string): string | undefined {
  const commit = repo.commit ?? fakeCommit(repoId);
  return revision === commit || (repo.revisions ?? ['main']).includes(revision) ? commit : undefined;
}

function handleHub(hub: FakeHub, request: IncomingMessage, response: ServerResponse): void {
  if (takeOnce(hub.faults, 'rateLimitOnce')) {
    sendError(response, 429, 'You have been rate-limited', undefined, request.method === 'HEAD');
    return;
  }
  if (takeOnce(hub.faults, 'unavailableOnce')) return send(response, 503, 'Service Unavailable', { 'retry-after': '0' });
  const url = new URL(request.url ?? '/', hub.endpoint);
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const api = parts[0] === 'api' && parts[1] === 'models';
  const [org, name, verb, ...rest] = api ? parts.slice(2) : parts;
  const repoId = `${org}/${name}`;
  const repo = hub.repos.get(repoId);
  if (!repo) {
    if (bearer(request) !== undefined && hub.tokens.has(bearer(request) ?? '')) {
      return sendError(response, 404, 'Repository not found', 'RepoNotFound', request.method === 'HEAD');
    }
    return sendError(response, 401, 'Invalid username or password.', undefined, request.method === 'HEAD');
  }

  if (api && (verb === undefined || verb === 'revision')) {
    if (!authorize(hub, repoId, repo, request, response, false)) return;
    const commit = resolveCommit(repoId, repo, rest[0] ?? 'main');
    if (!commit) return sendError(response, 404, `Invalid rev id: ${rest[0] ?? ''}`, 'RevisionNotFound');
    return sendJson(response, {
      id: repoId,
      sha: commit,
      gated: repo.gated ?? false,
      private: false,
      siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })),
    });
  }
  if (api && verb === 'auth-check') {
    if (!authorize(hub, repoId, repo, request, response, true)) return;
    return sendJson(response, { ok: true });
  }
  if (api && verb === 'tree') {
    if (!authorize(hub, repoId, repo, request, response, false)) return;
    if (!resolveCommit(repoId, repo, rest[0] ?? '')) return sendError(response, 404, 'Invalid rev id', 'RevisionNotFound');
    return sendTreePage(hub, repo, url, response);
  }
  if (!api && verb === 'resolve') {
    const [revision, ...pathParts] = rest;
    const path = pathParts.join('/');
    const commit = resolveCommit(repoId, repo, revision ?? '');
    if (!authorize(hub, repoId, repo, request, response, true)) return;
    if (!commit) return sendError(response, 404, 'Invalid rev id', 'RevisionNotFound', request.method === 'HEAD');
    const file = repo.files[path];
    if (!file) return sendError(response, 404, 'Entry not found', 'EntryNotFound', request.method === 'HEAD');
    if (file.lfs) {
      const digest = sha256(file.content);
      response.writeHead(302, {
        location: `${hub.cdnOrigin}/blob/${digest}?path=${encodeURIComponent(path)}&repo=${encodeURIComponent(repoId)}&expires=${Date.now() + 3_600_000}`,
        'x-repo-commit': commit,
        'x-linked-etag': `"${digest}"`,
        'x-linked-size': String(file.content.byteLength),
      });
      return void response.end();
    }
    return serveContent(hub, request, response, path, file.content, { etag: `"${gitBlobSha1(file.content)}"`, 'x-repo-commit': commit });
  }
  send(response, 404, 'Not Found');
}

function sendTreePage(hub: FakeHub, repo: FakeRepo, url: URL, response: ServerResponse): void {
  const entries = Object.entries(repo.files).map(([path, file]) => {
    const size = repo.reportedSizes?.[path] ?? file.content.byteLength;
    return file.lfs
      ? { type: 'file', path, size, oid: gitBlobSha1(new TextEncoder().encode(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(file.content)}\nsize ${size}\n`)), lfs: { oid: sha256(file.content), size, pointerSize: 134 } }
      : { type: 'file', path, size, oid: gitBlobSha1(file.content) };
  });
  const start = Number(url.searchParams.get('cursor') ?? '0');
  const page = entries.slice(start, start + hub.treePageSize);
  const headers: Record<string, string> = {};
  if (start + hub.treePageSize < entries.length) {
    const next = new URL(url);
    next.searchParams.set('cursor', String(start + hub.treePageSize));
    headers.link = `<${next.toString()}>; rel="next"`;
  }
  sendJson(response, page, headers);
}

function handleCdn(hub: FakeHub, request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', hub.cdnOrigin);
  if (takeOnce(hub.faults, 'expiredUrlOnce') || Number(url.searchParams.get('expires')) < Date.now()) {
    return send(response, 403, '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
  }
  const repo = hub.repos.get(url.searchParams.get('repo') ?? '');
  const path = url.searchParams.get('path') ?? '';
  const file = repo?.files[path];
  if (!file || url.pathname !== `/blob/${sha256(file.content)}`) return send(response, 404, 'NoSuchKey');
  serveContent(hub, request, response, path, file.content, { etag: `"${sha256(file.content)}"` });
}

/** Content with Range support and the content faults (drop, stall, corrupt, ignore Range). */
function serveContent(hub: FakeHub, request: IncomingMessage, response: ServerResponse, path: string, original: Uint8Array, headers: Record<string, string>): void {
  const { faults } = hub;
  let content = original;
  if (faults.corrupt?.path === path) {
    content = Uint8Array.from(original);
    content[faults.corrupt.offset] = (content[faults.corrupt.offset] ?? 0) ^ 0xff;
  }
  const size = content.byteLength;
  let start = 0;
  let status = 200;
  const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
  if (range && !faults.ignoreRange) {
    start = Number(range[1]);
    if (start >= size) {
      response.writeHead(416, { 'content-range': `bytes */${size}` });
      return void response.end();
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${size - 1}/${size}`;
  }
  response.writeHead(status, { ...headers, 'content-length': String(size - start), 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' });
  if (request.method === 'HEAD') return void response.end();

  const body = content.subarray(start);
  const drop = faults.drop?.path === path && faults.drop.times > 0 ? faults.drop : undefined;
  const stall = faults.stall?.path === path && faults.stall.times > 0 ? faults.stall : undefined;
  const cut = drop ?? stall;
  const cutAt = cut && drop?.perResponse ? start + cut.afterBytes : cut?.afterBytes;
  if (cut && cutAt !== undefined && cutAt >= start && cutAt < size) {
    cut.times--;
    response.write(body.subarray(0, cutAt - start), () => {
      // Let the bytes leave before the fault, as a real mid-file failure would.
      setTimeout(() => (drop ? response.destroy() : undefined), 20);
    });
    return;
  }
  response.end(body);
}

/** A repo serving every file of a local folder (e.g. a generated checkpoint); safetensors are LFS files. */
export function repoFromDirectory(dir: string, extra: Partial<FakeRepo> = {}): FakeRepo {
  const files: Record<string, FakeFile> = {};
  for (const name of readdirSync(dir, { recursive: true }).map(String)) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    files[name.split(sep).join('/')] = { content: readFileSync(path), lfs: /\.(safetensors|bin|pth)$/.test(name) };
  }
  return { files, ...extra };
}
