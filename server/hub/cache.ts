// The Hugging Face cache layout, shared with Python tools (huggingface_hub reads and writes the same files):
//   {hubCache}/models--{org}--{name}/blobs/{etag}               content, named by sha256 (LFS) or git sha1
//   {hubCache}/models--{org}--{name}/blobs/{etag}.incomplete    partial download, resumed with Range
//   {hubCache}/models--{org}--{name}/snapshots/{commit}/{path}  relative symlink into blobs
//   {hubCache}/models--{org}--{name}/refs/{revision}            commit a branch or tag pointed at
import { copyFile, mkdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

export function repoCacheDir(hubCache: string, repoId: string): string {
  return join(hubCache, `models--${repoId.split('/').join('--')}`);
}

export interface RepoCache {
  root: string;
  blobPath(etag: string): string;
  incompletePath(etag: string): string;
  snapshotDir(commit: string): string;
  snapshotPath(commit: string, file: string): string;
}

export function repoCache(hubCache: string, repoId: string): RepoCache {
  const root = repoCacheDir(hubCache, repoId);
  return {
    root,
    blobPath: (etag) => join(root, 'blobs', etag),
    incompletePath: (etag) => join(root, 'blobs', `${etag}.incomplete`),
    snapshotDir: (commit) => join(root, 'snapshots', commit),
    snapshotPath: (commit, file) => join(root, 'snapshots', commit, ...file.split('/')),
  };
}

export async function sizeIfExists(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Points snapshots/{commit}/{file} at the blob (a relative symlink; a copy where symlinks are not allowed). */
export async function linkSnapshotFile(cache: RepoCache, commit: string, file: string, etag: string): Promise<void> {
  const linkPath = cache.snapshotPath(commit, file);
  const target = relative(dirname(linkPath), cache.blobPath(etag));
  await mkdir(dirname(linkPath), { recursive: true });
  try {
    if ((await readlink(linkPath)) === target) return;
  } catch {
    // absent or not a link: (re)create below
  }
  await rm(linkPath, { force: true });
  try {
    await symlink(target, linkPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOTSUP') throw error;
    await copyFile(cache.blobPath(etag), linkPath); // Windows without developer mode, as huggingface_hub does
  }
}

/** Records which commit a branch or tag resolved to (nothing to record when the revision is a commit). */
export async function writeRef(cache: RepoCache, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const refPath = join(cache.root, 'refs', ...revision.split('/'));
  await mkdir(dirname(refPath), { recursive: true });
  await writeFile(refPath, commit);
}
