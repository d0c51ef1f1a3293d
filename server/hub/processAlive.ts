// Whether a pid names a running process: owners of blob locks (blobLock.ts) and of conversion staging folders
// (packages.ts) are checked with it, so what a crashed or killed process left behind can be taken over.

/** True when a process with this pid exists (EPERM: it exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
