// Free-space check before a download starts, so that a 15 GB checkpoint does not fail at 14 GB.
import { mkdir, statfs } from 'node:fs/promises';
import { HubError } from './errors.js';
import { formatBytes } from './progress.js';

export async function freeBytes(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/** Throws a 'disk-full' HubError when `dir`'s file system has less than `neededBytes` free. */
export async function ensureFreeSpace(dir: string, neededBytes: number, purpose: string): Promise<void> {
  const available = await freeBytes(dir);
  if (available < neededBytes) {
    throw new HubError(
      'disk-full',
      `Not enough disk space for ${purpose}: ${formatBytes(neededBytes)} needed in ${dir}, ` +
        `${formatBytes(available)} free. Free some space (or choose another folder) and try again.`,
    );
  }
}

/** The error to show when a write fails for lack of space mid-transfer. */
export function diskFullDuringWrite(path: string, cause: unknown): HubError {
  return new HubError(
    'disk-full',
    `The disk filled up while writing ${path}. Free some space and download again: it resumes where it stopped.`,
    { cause },
  );
}
