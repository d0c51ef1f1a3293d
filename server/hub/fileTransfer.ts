// One file from the Hub into the cache: written to blobs/{etag}.incomplete, resumed with Range after a dropped
// connection (in this process or a later one), hashed while it streams, and renamed to blobs/{etag} only when
// its size and hash are right. A checksum mismatch deletes the partial file: nothing corrupt is left behind.
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type HubConnection, modelPage, resolveUrl, type RepoFile } from './api.js';
import { type RepoCache, sizeIfExists } from './cache.js';
import { lockBlob } from './blobLock.js';
import { diskFullDuringWrite } from './diskSpace.js';
import { HubError, networkError } from './errors.js';
import { hubFetch, isAbort } from './http.js';
import { ContentHasher, type ExpectedContent } from './integrity.js';
import { DEFAULT_RETRY_POLICY, withRetries } from './retry.js';

const WRITE_BATCH_BYTES = 512 * 1024;

export interface FileTransferOptions {
  connection: HubConnection;
  repoId: string;
  commit: string;
  cache: RepoCache;
  /** Abort an attempt (and resume) when no byte arrives for this long. */
  stallTimeoutMs: number;
  /** Told how many bytes arrived for the file (negative: discarded, when the file restarts from zero). */
  onBytes: (delta: number) => void;
  onRetry: (message: string) => void;
}

/** The name the Hub and huggingface_hub give the blob: sha256 for LFS files, git sha1 otherwise. */
export function blobEtag(file: RepoFile): string {
  return file.lfsSha256 ?? file.gitOid;
}

export function expectedContent(file: RepoFile): ExpectedContent {
  return file.lfsSha256
    ? { size: file.size, algorithm: 'sha256', digest: file.lfsSha256.toLowerCase() }
    : { size: file.size, algorithm: 'git-sha1', digest: file.gitOid.toLowerCase() };
}

/** Bytes of the file already in the cache (complete blob or resumable partial). */
export async function bytesAlreadyPresent(cache: RepoCache, file: RepoFile): Promise<number> {
  const etag = blobEtag(file);
  if ((await sizeIfExists(cache.blobPath(etag))) === file.size) return file.size;
  return Math.min(file.size, (await sizeIfExists(cache.incompletePath(etag))) ?? 0);
}

/** Makes sure blobs/{etag} holds the file's verified content. */
export async function transferFile(file: RepoFile, options: FileTransferOptions): Promise<void> {
  const { cache, connection } = options;
  const etag = blobEtag(file);
  if ((await sizeIfExists(cache.blobPath(etag))) === file.size) return;

  const partialPath = cache.incompletePath(etag);
  await mkdir(dirname(partialPath), { recursive: true });
  const release = await lockBlob(`${cache.blobPath(etag)}.lock`, file.path);
  try {
    const expected = expectedContent(file);
    const hasher = new ContentHasher(expected);
    let positionBefore = 0;
    await withRetries(
      connection.retryPolicy ?? DEFAULT_RETRY_POLICY,
      connection.signal,
      () => {
        positionBefore = hasher.position;
        return transferAttempt(file, partialPath, hasher, options);
      },
      (error) => options.onRetry(error.message),
      () => hasher.position > positionBefore,
    );

    const actual = hasher.digest();
    if (actual !== expected.digest) {
      await rm(partialPath, { force: true });
      throw new HubError(
        'checksum',
        `${file.path} from ${options.repoId} is corrupt: its ${expected.algorithm} is ${actual}, the Hub says ` +
          `${expected.digest}. The file was deleted; download again to fetch it afresh.`,
      );
    }
    await rename(partialPath, cache.blobPath(etag));
  } finally {
    await release();
  }
}

/** One request: continues the partial file from its current size to the end (or throws; retried by caller). */
async function transferAttempt(file: RepoFile, partialPath: string, hasher: ContentHasher, options: FileTransferOptions): Promise<void> {
  const { connection } = options;
  let offset = (await sizeIfExists(partialPath)) ?? 0;
  if (offset > file.size) {
    await discard(partialPath, offset, options);
    offset = 0;
  }
  if (hasher.position !== offset) await hasher.rehashPrefix(partialPath, offset);
  if (offset === file.size) return;

  // The stall watchdog aborts this attempt only; the user's signal aborts everything.
  const stall = new AbortController();
  const signal = connection.signal ? AbortSignal.any([connection.signal, stall.signal]) : stall.signal;
  let watchdog = setTimeout(() => stall.abort(), options.stallTimeoutMs);
  const rearm = (): void => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => stall.abort(), options.stallTimeoutMs);
  };

  let handle: FileHandle | undefined;
  let response: Response | undefined;
  try {
    response = await hubFetch({
      url: resolveUrl(connection, options.repoId, options.commit, file.path),
      token: connection.token,
      trustedOrigin: new URL(connection.endpoint).origin,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      signal,
      context: {
        repoId: options.repoId,
        modelPage: modelPage(connection, options.repoId),
        hadToken: connection.token !== undefined,
        file: file.path,
      },
      what: `downloading ${file.path}`,
    });
    if (response.status === 416) {
      // Our partial file is not a prefix the server recognises: start this file over.
      await response.body?.cancel();
      await discard(partialPath, offset, options);
      hasher.reset();
      throw new HubError('server', `The Hub refused to resume ${file.path} (416); starting it over.`);
    }
    if (offset > 0 && response.status !== 206) {
      // A 200 to a Range request is the whole file: start over from byte 0.
      await discard(partialPath, offset, options);
      hasher.reset();
      offset = 0;
    } else if (response.status === 206) {
      checkContentRange(response.headers.get('content-range'), offset, file);
    }
    if (!response.body) throw new HubError('server', `The Hub sent no content for ${file.path}.`);

    handle = await open(partialPath, offset > 0 ? 'r+' : 'w');
    const output = handle;
    let position = offset;
    // Network chunks are ~16-64 KB: writing them in batches saves thousands of syscalls per gigabyte. Progress
    // counts bytes as they arrive; what arrived is always written, even when the connection then drops.
    const pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const chunks = pending.splice(0);
      const bytes = pendingBytes;
      pendingBytes = 0;
      try {
        await output.writev(chunks, position);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw diskFullDuringWrite(partialPath, error);
        throw error;
      }
      for (const chunk of chunks) hasher.update(chunk);
      position += bytes;
    };
    const reader = response.body.getReader();
    let complete = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        rearm();
        if (position + pendingBytes + value.byteLength > file.size) {
          throw new HubError('server', `The Hub sent more than the ${file.size} bytes of ${file.path}.`);
        }
        pending.push(value);
        pendingBytes += value.byteLength;
        options.onBytes(value.byteLength);
        if (pendingBytes >= WRITE_BATCH_BYTES) await flush();
      }
      complete = true;
    } finally {
      if (!complete) await reader.cancel().catch(() => undefined); // release the connection
      await flush(); // keep what arrived before a dropped connection: the resume starts after it
    }
    if (position < file.size) {
      throw networkError(new Error(`connection closed after ${position} of ${file.size} bytes`), `downloading ${file.path}`);
    }
  } catch (error) {
    if (connection.signal?.aborted) throw new HubError('cancelled', 'Download cancelled.', { cause: error });
    if (stall.signal.aborted) {
      throw networkError(new Error(`no data for ${options.stallTimeoutMs / 1000} s`), `downloading ${file.path}`);
    }
    if (error instanceof HubError) throw error;
    if (isAbort(error, signal) || error instanceof TypeError) throw networkError(error, `downloading ${file.path}`);
    throw error;
  } finally {
    clearTimeout(watchdog);
    if (response?.body && !response.body.locked) await response.body.cancel().catch(() => undefined);
    await handle?.close();
  }
}

function checkContentRange(header: string | null, offset: number, file: RepoFile): void {
  const match = header ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim()) : null;
  if (!match || Number(match[1]) !== offset) {
    throw new HubError('server', `The Hub answered a resume of ${file.path} with Content-Range "${header ?? ''}".`);
  }
  if (match[3] !== '*' && Number(match[3]) !== file.size) {
    throw new HubError('server', `${file.path} on the Hub is ${match[3]} bytes, its listing said ${file.size}.`);
  }
}

async function discard(partialPath: string, bytes: number, options: FileTransferOptions): Promise<void> {
  await rm(partialPath, { force: true });
  options.onBytes(-bytes);
}
