// Debounce adapted to the typing rhythm (as Tabby does): while the user types in a burst, wait about their usual gap
// between keys, so a request goes out when they pause, not on every keystroke. One gap, not 1.5: a stale request
// costs little (the server aborts it and its prompt cache keeps the tokens), and the replay of 328 keystrokes
// (npm run bench:replay, 2 seeds) showed p95 keystroke-to-ghost-text 316 -> 277 and 451 -> 320 ms, ghost text on
// 107 -> 123 and 103 -> 125 keystrokes, for 10.1 -> 15.1 and 13.1 -> 16.4 s of server CPU over 58 s.

import { CLIENT_DEBOUNCE_MAX_MS } from '../server/protocol.js';

export interface DebounceRules {
  minMs: number;
  maxMs: number;
  /** Wait this multiple of the typical gap between keys. */
  gapFactor: number;
  /** Gaps longer than this are pauses, not typing, and do not move the estimate. */
  pauseMs: number;
}

export const DEFAULT_DEBOUNCE: DebounceRules = { minMs: 40, maxMs: CLIENT_DEBOUNCE_MAX_MS, gapFactor: 1.0, pauseMs: 1000 };
const SMOOTHING = 0.3;

export class AdaptiveDebouncer {
  private lastKeyAt: number | null = null;
  private typicalGapMs: number | null = null;

  constructor(private readonly rules: DebounceRules = DEFAULT_DEBOUNCE) {}

  /** Records a keystroke at `now` (ms) and returns how long to wait before asking for a completion. */
  keystroke(now: number): number {
    if (this.lastKeyAt !== null) {
      const gap = now - this.lastKeyAt;
      if (gap < this.rules.pauseMs) {
        this.typicalGapMs = this.typicalGapMs === null ? gap : SMOOTHING * gap + (1 - SMOOTHING) * this.typicalGapMs;
      }
    }
    this.lastKeyAt = now;
    return this.delay();
  }

  delay(): number {
    const wanted = this.typicalGapMs === null ? this.rules.minMs : this.typicalGapMs * this.rules.gapFactor;
    return Math.round(Math.min(this.rules.maxMs, Math.max(this.rules.minMs, wanted)));
  }
}

/** Resolves true after `ms`, or false as soon as `cancelled` fires (never rejects). */
export function sleepUnlessCancelled(ms: number, onCancel: (listener: () => void) => { dispose(): void }): Promise<boolean> {
  return new Promise((resolve) => {
    const subscription = onCancel(() => {
      clearTimeout(timer);
      resolve(false);
    });
    const timer = setTimeout(() => {
      subscription.dispose();
      resolve(true);
    }, ms);
  });
}
