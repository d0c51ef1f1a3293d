// Installed model packages in a models folder: one sub-folder per package, named {org}--{name}-{dtype}.
// Folders starting with "." are conversions in progress (or interrupted ones): never listed, cleaned up when stale.
import { readdir, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { readManifest } from '../model/manifest.js';
import type { InstalledPackage } from '../protocol.js';
import { processAlive } from './processAlive.js';

/** Staging folder for a conversion by process `pid`: hidden from listings until renamed into place. */
export function stagingDir(modelsDir: string, name: string, pid: number = process.pid): string {
  return join(modelsDir, `.${name}.converting-${pid}`);
}

const STAGING = /^\..+\.converting-(\d+)$/;

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await folderBytes(path);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
}

export async function listInstalledPackages(modelsDir: string): Promise<InstalledPackage[]> {
  let entries;
  try {
    entries = await readdir(modelsDir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const packages: InstalledPackage[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = join(modelsDir, entry.name);
    const listed: InstalledPackage = { name: entry.name, dir, bytes: await folderBytes(dir), dtype: undefined, source: undefined, revision: undefined, convertedAt: undefined, problem: undefined };
    try {
      const manifest = readManifest(dir);
      listed.dtype = manifest.dtype;
      listed.source = manifest.source.checkpoint;
      listed.revision = manifest.source.revision;
      listed.convertedAt = manifest.source.convertedAt;
    } catch (error) {
      listed.problem = error instanceof Error ? error.message : String(error);
    }
    packages.push(listed);
  }
  return packages.sort((a, b) => a.name.localeCompare(b.name));
}

/** Deletes an installed package; refuses anything that is not a direct sub-folder of the models folder. */
export async function removeInstalledPackage(modelsDir: string, name: string): Promise<void> {
  const root = resolve(modelsDir);
  const dir = resolve(root, name);
  if (name.startsWith('.') || !dir.startsWith(root + sep) || dir.slice(root.length + 1).includes(sep)) {
    throw new Error(`"${name}" is not a package name in ${root}`);
  }
  await stat(dir).catch(() => {
    throw new Error(`No installed model named "${name}" in ${root}`);
  });
  await rm(dir, { recursive: true, force: true });
}

/** Removes staging folders of conversions whose process is gone (killed, crashed, cancelled). */
export async function removeStaleStaging(modelsDir: string): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(modelsDir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = Number(STAGING.exec(name)?.[1]);
    if (pid && pid !== process.pid && !processAlive(pid)) {
      await rm(join(modelsDir, name), { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}
