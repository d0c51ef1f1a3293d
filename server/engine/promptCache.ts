/**
 * Prompt (prefix) cache: the KV cache of the previous request is kept with the tokens it holds. A new request that
 * shares a token prefix with them processes only its new tail. Correct by construction: the rows of a position
 * depend only on the tokens up to it, so a shared prefix has identical rows.
 */
import type { KvCache } from '../backend/kvCache.js';

export class PromptCache {
  /** The tokens the cache's rows belong to (a layer may hold fewer rows than this; never more). */
  private tokens: readonly number[] = [];

  constructor(readonly cache: KvCache) {}

  /**
   * Keeps the rows of the longest prefix shared with `prompt` that layers [0, layers) all hold, leaving at least the
   * last prompt token to be processed (it yields the first prediction). Returns how many prompt tokens are reused.
   */
  reuse(prompt: readonly number[], layers: number): number {
    let shared = 0;
    const limit = Math.min(this.tokens.length, prompt.length - 1);
    while (shared < limit && this.tokens[shared] === prompt[shared]) shared++;
    for (let l = 0; l < layers; l++) shared = Math.min(shared, this.cache.length(l));
    this.cache.truncate(shared);
    return shared;
  }

  /** Records the tokens the cache now holds rows for (the request's prompt and everything it generated). */
  remember(tokens: readonly number[]): void {
    this.tokens = [...tokens];
  }

  /** After a failure mid-step the rows may not match any token list: forget everything. */
  clear(): void {
    this.tokens = [];
    this.cache.truncate(0);
  }
}
