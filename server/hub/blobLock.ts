// One writer per blob: two downloads of the same file (two editor windows, an editor and a terminal) would
// interleave writes into the same .incomplete file. The lock file holds the owner's pid; a lock whose process is
// gone (killed, crashed) is taken over.
import { open, readFile, rm } from 'node:fs/promises';
import { HubError } from './errors.js';
import { processAlive } from './processAlive.js';

/** Takes the lock at `lockPath` (or throws if a live process holds it); returns its release function. */
export async function lockBlob(lockPath: string, what: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (owner && owner !== process.pid && processAlive(owner)) {
        throw new HubError('server', `${what} is being downloaded by another process (pid ${owner}); try again when it is done.`);
      }
      await rm(lockPath, { force: true }); // stale: its owner is gone
    }
  }
  throw new HubError('server', `Could not lock ${lockPath} for ${what}.`);
}
