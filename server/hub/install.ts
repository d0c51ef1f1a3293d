// Download -> convert -> package in place: the one pipeline behind `layerskip download` and the VS Code command.
// The package is converted into a hidden staging folder and renamed into the models folder only when complete,
// so a failure or a cancel never leaves a partial package where the server would look for one.
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { convertCheckpoint } from '../model/convert.js';
import type { Manifest } from '../model/manifest.js';
import type { PackageDtype } from '../model/weightEncoding.js';
import { packageName } from '../protocol.js';
import type { RepoFile } from './api.js';
import { sizeIfExists } from './cache.js';
import { knownCheckpoint } from './catalog.js';
import { ensureFreeSpace } from './diskSpace.js';
import type { HubEnvironment } from './env.js';
import { HubError } from './errors.js';
import type { TransferProgress } from './progress.js';
import { removeStaleStaging, stagingDir } from './packages.js';
import type { RetryPolicy } from './retry.js';
import { downloadSnapshot, type Snapshot } from './snapshot.js';

export interface InstallRequest {
  repoId: string;
  revision?: string;
  dtype: PackageDtype;
  modelsDir: string;
  hub: HubEnvironment;
  /** Replace an installed package of the same name. */
  force?: boolean;
  signal?: AbortSignal;
  retryPolicy?: RetryPolicy;
  stallTimeoutMs?: number;
  onDownloadProgress?: (progress: TransferProgress) => void;
  onConvertProgress?: (message: string) => void;
  /** Called once the download is complete, just before the (synchronous, uninterruptible) conversion starts. */
  beforeConvert?: () => void;
}

export interface InstallResult {
  name: string;
  packageDir: string;
  snapshot: Snapshot;
  manifest: Manifest;
}

/** Package bytes per checkpoint byte (checkpoints are 16-bit; int8/int4 add one f32 scale per 32 weights). */
const PACKAGE_SIZE_RATIO: Record<PackageDtype, number> = { fp32: 2, fp16: 1, int8: 0.57, int4: 0.32 };

export function estimatePackageBytes(files: RepoFile[], dtype: PackageDtype): number {
  const weights = files.filter((file) => file.path.endsWith('.safetensors')).reduce((sum, file) => sum + file.size, 0);
  return Math.ceil(weights * PACKAGE_SIZE_RATIO[dtype]) + 64 * 2 ** 20;
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new HubError('cancelled', 'Download cancelled.');
}

export async function installModel(request: InstallRequest): Promise<InstallResult> {
  const { modelsDir, dtype, repoId } = request;
  const name = packageName(repoId, dtype);
  const packageDir = join(modelsDir, name);
  await mkdir(modelsDir, { recursive: true });
  await removeStaleStaging(modelsDir);
  if (!request.force && (await sizeIfExists(packageDir)) !== undefined) {
    throw new Error(`${name} is already installed in ${modelsDir}; remove it first (or pass --force) to reinstall.`);
  }

  const snapshot = await downloadSnapshot({
    repoId,
    revision: request.revision,
    hubCache: request.hub.hubCache,
    offline: request.hub.offline,
    connection: { endpoint: request.hub.endpoint, token: request.hub.token, signal: request.signal, retryPolicy: request.retryPolicy },
    stallTimeoutMs: request.stallTimeoutMs,
    onProgress: request.onDownloadProgress,
    // Fail before downloading gigabytes if the converted package will not fit (next to the download, when the
    // cache and the models folder share a disk).
    beforeTransfer: async (files, bytesToFetch, cacheDir) => {
      const sameDisk = (await stat(cacheDir)).dev === (await stat(modelsDir)).dev;
      const needed = estimatePackageBytes(files, dtype) + (sameDisk ? bytesToFetch : 0);
      await ensureFreeSpace(modelsDir, needed, `downloading ${repoId} and converting it to ${dtype}`);
    },
  });
  throwIfCancelled(request.signal);

  const staging = stagingDir(modelsDir, name);
  const staged = join(staging, name);
  const known = knownCheckpoint(repoId);
  try {
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    request.beforeConvert?.();
    const converted = await convertCheckpoint(snapshot.dir, staged, {
      dtype,
      recommendedExitLayer: known?.recommendedExitLayer,
      onProgress: request.onConvertProgress,
    });
    const manifest = await recordProvenance(staged, converted, snapshot, known?.recommendedDraftLength);
    throwIfCancelled(request.signal);
    if (request.force) await rm(packageDir, { recursive: true, force: true });
    await rename(staged, packageDir);
    return { name, packageDir, snapshot, manifest };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The converter records config.json's _name_or_path; the package should say which Hub repo and commit it is. */
async function recordProvenance(dir: string, manifest: Manifest, snapshot: Snapshot, draftLength: number | undefined): Promise<Manifest> {
  const updated: Manifest = {
    ...manifest,
    layerskip: { ...manifest.layerskip, ...(draftLength ? { recommendedDraftLength: draftLength } : {}) },
    source: { ...manifest.source, checkpoint: snapshot.repoId, revision: snapshot.commit },
  };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(updated, null, 2) + '\n');
  return updated;
}
