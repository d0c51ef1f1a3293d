// A whole checkpoint from the Hub into the shared cache: resolve the revision to a commit, check access and free
// space before the first byte, fetch each file (resumable, verified), then link snapshots/{commit}/ and refs/.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkAccess, listFiles, modelInfo, validateRepoId, type HubConnection, type RepoFile } from './api.js';
import { linkSnapshotFile, repoCache, sizeIfExists, writeRef } from './cache.js';
import { ensureFreeSpace } from './diskSpace.js';
import { HubError } from './errors.js';
import { blobEtag, bytesAlreadyPresent, transferFile } from './fileTransfer.js';
import { RateMeter, etaSeconds, type TransferProgress } from './progress.js';
import { selectCheckpointFiles } from './selection.js';

export interface SnapshotRequest {
  repoId: string;
  revision?: string;
  connection: HubConnection;
  hubCache: string;
  /** HF_HUB_OFFLINE: only use what the cache already has. */
  offline?: boolean;
  /** Runs after the file list is known and before any byte is fetched (e.g. a free-space check for later steps). */
  beforeTransfer?: (files: RepoFile[], bytesToFetch: number, cacheDir: string) => Promise<void>;
  /** Which files to fetch; defaults to what the converter reads. */
  select?: (files: RepoFile[]) => RepoFile[];
  onProgress?: (progress: TransferProgress) => void;
  /** Per-attempt stall limit; the attempt is aborted and resumed after this long without data. */
  stallTimeoutMs?: number;
  /** Minimum interval between progress reports. */
  progressIntervalMs?: number;
}

export interface Snapshot {
  repoId: string;
  revision: string;
  commit: string;
  /** snapshots/{commit}: a checkpoint folder any HF tool (and the converter) can read. */
  dir: string;
  files: RepoFile[];
  /** Bytes fetched over the network in this call (0 when everything was cached). */
  bytesFetched: number;
}

export async function downloadSnapshot(request: SnapshotRequest): Promise<Snapshot> {
  const { repoId, connection } = request;
  const revision = request.revision ?? 'main';
  validateRepoId(repoId);
  const cache = repoCache(request.hubCache, repoId);
  if (request.offline) return cachedSnapshot(request, revision);

  const info = await modelInfo(connection, repoId, revision);
  // Gated repos: say "log in" / "accept the license" / "pending review" before anything is written.
  if (info.gated) await checkAccess(connection, repoId);
  const files = (request.select ?? selectCheckpointFiles)(await listFiles(connection, repoId, info.sha));
  if (!files.some((file) => file.path === 'config.json')) {
    throw new HubError('file-not-found', `${repoId} has no config.json: it is not a Hugging Face model checkpoint.`);
  }

  const bytesTotal = files.reduce((sum, file) => sum + file.size, 0);
  let bytesDone = 0;
  for (const file of files) bytesDone += await bytesAlreadyPresent(cache, file);
  await ensureFreeSpace(cache.root, bytesTotal - bytesDone, `downloading ${repoId}`);
  await request.beforeTransfer?.(files, bytesTotal - bytesDone, cache.root);

  const startedWith = bytesDone;
  const meter = new RateMeter();
  const interval = request.progressIntervalMs ?? 200;
  let lastReport = -Infinity;
  const report = (file: RepoFile, index: number, force: boolean, retrying?: string): void => {
    const now = performance.now();
    if (!request.onProgress || (!force && now - lastReport < interval)) return;
    lastReport = now;
    const rate = meter.bytesPerSecond();
    request.onProgress({
      file: file.path,
      fileIndex: index,
      fileCount: files.length,
      bytesDone,
      bytesTotal,
      bytesPerSecond: rate,
      etaSeconds: etaSeconds(bytesTotal - bytesDone, rate),
      retrying,
    });
  };

  for (const [index, file] of files.entries()) {
    report(file, index, true);
    await transferFile(file, {
      connection,
      repoId,
      commit: info.sha,
      cache,
      stallTimeoutMs: request.stallTimeoutMs ?? 30_000,
      onBytes: (delta) => {
        bytesDone += delta;
        if (delta < 0) meter.reset();
        meter.record(bytesDone);
        report(file, index, false);
      },
      onRetry: (message) => report(file, index, true, message),
    });
    await linkSnapshotFile(cache, info.sha, file.path, blobEtag(file));
  }
  await writeRef(cache, revision, info.sha);
  const last = files[files.length - 1];
  if (last) report(last, files.length - 1, true);
  return { repoId, revision, commit: info.sha, dir: cache.snapshotDir(info.sha), files, bytesFetched: bytesDone - startedWith };
}

/** HF_HUB_OFFLINE: the snapshot the cache's refs point at, if it is there. */
async function cachedSnapshot(request: SnapshotRequest, revision: string): Promise<Snapshot> {
  const cache = repoCache(request.hubCache, request.repoId);
  const commit = /^[0-9a-f]{40}$/.test(revision)
    ? revision
    : (await readFile(join(cache.root, 'refs', ...revision.split('/')), 'utf8').catch(() => '')).trim();
  if (commit && (await sizeIfExists(join(cache.snapshotDir(commit), 'config.json'))) !== undefined) {
    return { repoId: request.repoId, revision, commit, dir: cache.snapshotDir(commit), files: [], bytesFetched: 0 };
  }
  throw new HubError(
    'offline',
    `HF_HUB_OFFLINE is set and ${request.repoId}@${revision} is not in the cache (${cache.root}). ` +
      'Unset HF_HUB_OFFLINE to download it.',
  );
}
