// What a downloaded file must hash to: the sha256 the Hub reports for LFS files, the git blob sha1
// (sha1 of "blob {size}\0" + content) for plain files. huggingface_hub only checks sizes; we check content.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface ExpectedContent {
  size: number;
  algorithm: 'sha256' | 'git-sha1';
  /** Lower-case hex digest. */
  digest: string;
}

/** Incremental hash of a file's content in the algorithm the Hub reports for it. */
export class ContentHasher {
  private hash: Hash;
  private hashed = 0;

  constructor(private readonly expected: ExpectedContent) {
    this.hash = ContentHasher.start(expected);
  }

  private static start(expected: ExpectedContent): Hash {
    if (expected.algorithm === 'sha256') return createHash('sha256');
    return createHash('sha1').update(`blob ${expected.size}\0`);
  }

  /** Bytes of content hashed so far. */
  get position(): number {
    return this.hashed;
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.hashed += chunk.byteLength;
  }

  /** Forgets everything hashed (the file restarts from byte 0). */
  reset(): void {
    this.hash = ContentHasher.start(this.expected);
    this.hashed = 0;
  }

  /** Restarts and hashes the first `length` bytes of `path` (after resuming a download in a new process). */
  async rehashPrefix(path: string, length: number): Promise<void> {
    this.reset();
    if (length === 0) return;
    for await (const chunk of createReadStream(path, { start: 0, end: length - 1 })) {
      this.update(chunk as Buffer);
    }
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
