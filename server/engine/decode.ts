/**
 * The decode ladder: blocks of layers -> prefill -> one step of each mode. Reads like the LayerSkip paper.
 *
 * State invariant between steps: `tokens` holds every token so far; all but the last are in the KV cache of every
 * layer the mode uses; the last one ("pending") has not been seen by any layer and is the first thing the next step
 * processes. Positions are implicit: a block of layers appends at its layers' current cache length.
 */
import type { ForwardResult, HeadRequest, LayerBackend } from '../backend/layerBackend.js';
import type { KvCache } from '../backend/kvCache.js';
import type { DraftPolicy } from './draftPolicy.js';
import type { StageClock } from './stats.js';
import type { Proposal, TokenChooser } from './tokenChoice.js';

export interface DecodeState {
  readonly backend: LayerBackend;
  readonly cache: KvCache;
  readonly tokens: number[];
  readonly chooser: TokenChooser;
  readonly clock: StageClock;
  /** Tokens that end a generation (EOS, EOT): drafting stops at one, nothing after it could be kept. */
  readonly endTokens: readonly number[];
}

export interface StepOutcome {
  /** Tokens this step added to `tokens` (>= 1). */
  tokens: number[];
  drafted: number;
  acceptedDrafts: number;
}

/**
 * Prompt tokens per prefill pass. Measured on the bench model (16 layers, hidden 512, CPU, a 2048-token prompt):
 * chunk 256 -> 1256 MiB peak RSS, 18 s wall; 128 -> 854 MiB, 5.1 s CPU; 64 -> 633 MiB, 5.0 s CPU; 32 -> 601 MiB,
 * 5.5 s CPU; 16 -> 7.0 s CPU. The attention scores of a chunk ([heads, S, P+S]) dominate memory; 64 is cheapest.
 */
export const PREFILL_CHUNK = 64;

/**
 * Embedding + layers [0, E), and the exit's head when asked: the residual stream leaving layer E-1 ("exit hidden
 * state", [S, hidden]) and the head's choice.
 */
async function forwardEarly(state: DecodeState, tokens: readonly number[], exitLayer: number, head?: HeadRequest): Promise<ForwardResult> {
  return state.backend.forward(0, exitLayer, state.backend.embed(tokens), state.cache, head);
}

/** Layers [E, L) over exit hidden states ([S, hidden]) and the full head: the full model's predictions. */
async function forwardRemainder(state: DecodeState, exitHidden: Float32Array, exitLayer: number, head: HeadRequest): Promise<ForwardResult> {
  return state.backend.forward(exitLayer, state.backend.config.numLayers, exitHidden, state.cache, head);
}

/** Appends a step's tokens; the cache keeps exactly the positions before the new pending token (rollback). */
function commit(state: DecodeState, tokens: readonly number[]): void {
  state.tokens.push(...tokens);
  state.cache.truncate(state.tokens.length - 1);
}

/**
 * Runs every token but the pending one through layers [0, layers) that their caches do not hold yet, in chunks
 * (memory stays bounded by the chunk, not the prompt). Returns false when `signal` aborted it between two chunks.
 */
export async function prefill(state: DecodeState, layers: number, signal?: AbortSignal): Promise<boolean> {
  const end = state.tokens.length - 1;
  let start = end;
  for (let l = 0; l < layers; l++) start = Math.min(start, state.cache.length(l));
  state.cache.truncate(start); // the block of layers must agree on the position it appends at
  for (; start < end; start += PREFILL_CHUNK) {
    if (signal?.aborted) return false;
    const chunk = state.tokens.slice(start, Math.min(end, start + PREFILL_CHUNK));
    await state.clock.time('prefill', () => forwardEarly(state, chunk, layers));
  }
  return true;
}

/**
 * One token from layers [0, E) + the shared norm and head. E = L is plain autoregressive decoding. `allowed`
 * restricts the choice (token healing).
 */
export async function autoregressiveStep(state: DecodeState, exitLayer: number, allowed?: readonly number[]): Promise<StepOutcome> {
  const pending = state.tokens[state.tokens.length - 1];
  const stage = exitLayer === state.backend.config.numLayers ? 'verify' : 'draft';
  const head = allowed === undefined ? state.chooser.heads.verify : state.chooser.heads.among;
  const out = await state.clock.time(stage, () => forwardEarly(state, [pending], exitLayer, head));
  const tokens = allowed === undefined ? state.chooser.verify(out, []).tokens : [state.chooser.chooseAmong(out, allowed)];
  commit(state, tokens);
  return { tokens, drafted: 0, acceptedDrafts: 0 };
}

/**
 * One self-speculative step (LayerSkip section 5):
 *  draft   d tokens with layers [0, E), saving each exit hidden state (the "exit cache");
 *  verify  the last draft through [0, E) (the only token those layers have not seen), then layers [E, L) ONCE over
 *          the d+1 exit states [pending, draft_1 .. draft_d]: row i is the full model's prediction after row i;
 *  accept  the longest agreeing prefix plus one full-model token;
 *  rollback every layer's cache to the accepted length (commit).
 * With a budget of 0 drafts it is exactly one full-model step.
 */
export async function selfSpeculativeStep(
  state: DecodeState,
  exitLayer: number,
  policy: DraftPolicy,
  budget: number,
): Promise<StepOutcome> {
  const hiddenSize = state.backend.config.hiddenSize;
  const seen = [state.tokens[state.tokens.length - 1]]; // tokens fed to [0, E): pending, then the drafts
  const exitStates = new Float32Array((budget + 1) * hiddenSize); // [d+1, hidden]
  const proposals: Proposal[] = [];

  while (proposals.length < budget) {
    const out = await state.clock.time('draft', () => forwardEarly(state, seen.slice(-1), exitLayer, state.chooser.heads.propose));
    exitStates.set(out.hidden, proposals.length * hiddenSize);
    const proposal = state.chooser.propose(out);
    proposals.push(proposal);
    seen.push(proposal.token);
    if (!policy.keepDrafting(proposal) || state.endTokens.includes(proposal.token)) break;
  }

  const d = proposals.length;
  const targets = await state.clock.time('verify', async () => {
    exitStates.set((await forwardEarly(state, seen.slice(-1), exitLayer)).hidden, d * hiddenSize);
    return forwardRemainder(state, exitStates.subarray(0, (d + 1) * hiddenSize), exitLayer, state.chooser.heads.verify);
  });
  const verdict = state.chooser.verify(targets, proposals);
  commit(state, verdict.tokens);
  return { tokens: verdict.tokens, drafted: d, acceptedDrafts: verdict.acceptedDrafts };
}
