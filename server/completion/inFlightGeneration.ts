// One generation and the request it serves (its follower). When the follower is cancelled (the user typed), the
// engine stops at once (nobody would see what it generates next) but the generation is kept for a grace period, so
// that the next request can take it over if the user typed what it generated ("adoption"): that request then pays
// for neither the prompt nor the tokens already decoded, and when it needs more text the engine resumes where it
// stopped, from the prompt and the generated tokens (the engine's prompt cache holds their rows: no prefill). It
// serves one request at a time; completionService.ts decides which.
//
// A look-ahead is a generation that serves nobody yet (prepare()): the next suggestion, computed for the document as
// if the user accepted the one just shown. A request for that document (Tab) takes it over by the same rule as any
// other, with nothing typed.
//
// The follower's text is the generated text past what was typed since the generation began. While the typing runs
// ahead of the generation, each new piece of text is checked against it; the first disagreement aborts the
// generation and the follower is told to start its own.
import type { ServerSettings } from '../protocol.js';
import type { CompletionRequest, ModelInUse } from './completionService.js';
import type { CursorContext } from './cursorContext.js';
import type { CompletionGenerationParams, CompletionGenerationResult, Decoding } from './engine.js';
import type { PartialReporter } from './partialReporter.js';
import { StopStringFilter } from '../engine/stopStringFilter.js';
import { completionRules } from './rules.js';
import { stopStringsFor, suggestionComplete } from './stopRules.js';
import { typedAtCursor } from './typedAtCursor.js';

export interface Follower {
  request: CompletionRequest;
  /** Everything typed at the first request's cursor since the generation began: the generation must begin with it. */
  typed: string;
  /** It took over a generation begun for an earlier request (its prompt and first token came before this request). */
  adopted: boolean;
  /** Fed the generated text that follows `typed`; judges when the suggestion is complete. */
  reporter: PartialReporter;
}

/** How a generation answered one request. */
export type Served =
  /** The generation ended; result is null when the engine rejected the abort that ended a complete suggestion. */
  | { kind: 'ended'; result: CompletionGenerationResult | null }
  /** The request was cancelled, or another request took the generation over or aborted it. */
  | { kind: 'dropped' }
  /** The generation did not produce what was typed: the request needs a generation of its own. */
  | { kind: 'diverged' };

interface Answer {
  resolve(served: Served): void;
  reject(error: unknown): void;
}

export class InFlightGeneration {
  /** Settles (never rejects) once the engine is done with this generation: the next one starts only then. */
  readonly settled: Promise<void>;
  /** The engine's part is over: no run starts or resumes any more (the run in flight was aborted). */
  private engineStopped = false;
  /** Stops the engine run in flight, to resume later: set anew for each run. */
  private runController = new AbortController();
  private readonly stopStrings: string[];
  /** The cursor is where its line's code begins: a line the model ends there is kept with its line break. */
  private readonly beforeCode: boolean;
  /** The raw generated text so far. */
  private text = '';
  private ended = false;
  /** Set while the engine is paused with nobody following: a follower that needs more text resumes it (true). */
  private resume: ((go: boolean) => void) | null = null;
  private result: CompletionGenerationResult | null = null;
  /** The follower's suggestion was complete, so we stopped the engine: the text will not grow any more. */
  private stoppedAsComplete = false;
  /** Paused where nobody followed and then ended without resuming (its tokens unknown): the text stops mid-way. */
  private truncated = false;
  /** It will serve no request any more (aborted, diverged or answered). */
  private closed = false;
  /** The request served, or last served while in its grace period. */
  private follower: Follower | null = null;
  /** Settles the follower's request; null once answered (then the generation is closed or in its grace period). */
  private answer: Answer | null = null;
  private grace: ReturnType<typeof setTimeout> | null = null;
  /** Begun serving nobody (prepare(): a look-ahead, or a warm-up, which nothing takes over). */
  private lookAheadFor: Follower | null = null;

  constructor(
    private readonly model: ModelInUse,
    private readonly settings: ServerSettings,
    request: CompletionRequest,
    context: CursorContext,
    previous: Promise<void>,
  ) {
    this.stopStrings = stopStringsFor(context, model.fimEndOfText);
    this.beforeCode = context.beforeCode;
    this.settled = this.run(request, context, previous);
  }

  /**
   * Everything typed since the generation began if it may serve `request`: the same model and settings, the last
   * request's document with characters typed at its cursor, the same stop strings, and generated text that agrees
   * with the typing (or, once it will not grow any more, goes past it). Null otherwise.
   */
  typedBy(request: CompletionRequest, context: CursorContext, model: ModelInUse, settings: ServerSettings): string | null {
    const follower = this.follower;
    if (this.closed || follower === null || settings !== this.settings || !sameModel(model, this.model)) return null;
    const typedNow = typedAtCursor(follower.request, request);
    if (typedNow === null || !sameStrings(stopStringsFor(context, model.fimEndOfText), this.stopStrings)) return null;
    const typed = follower.typed + typedNow;
    if (!this.ended && !this.stoppedAsComplete) return agrees(this.text, typed) ? typed : null;
    const rest = this.text.slice(typed.length);
    if (!this.text.startsWith(typed)) return null;
    // The same document gets what was generated for it, even nothing. Cut short (as complete for the previous request,
    // or at a pause it could not resume from), the rest must be complete for this one too.
    const cutShort = this.stoppedAsComplete || this.truncated;
    const usable = rest === '' ? typed === '' && !this.truncated : !cutShort || suggestionComplete(rest, context);
    return usable ? typed : null;
  }

  /** Whether it was begun as a look-ahead. */
  get lookAhead(): boolean {
    return this.lookAheadFor !== null;
  }

  /**
   * A look-ahead: serves nobody yet, and `follower` (a request nobody sent: the accepted state) only judges when its
   * suggestion is complete. Unlike a cancelled request's generation it runs until then (the user may press Tab at any
   * moment), and it waits, without a grace period, for a request to take it over or a new generation to replace it.
   */
  prepare(follower: Follower): void {
    this.lookAheadFor = follower;
    this.follower = follower;
  }

  /** Serves `follower` from now on; the request served so far, if not cancelled yet, gets nothing. */
  follow(follower: Follower, signal: AbortSignal): Promise<Served> {
    this.answer?.resolve({ kind: 'dropped' });
    this.clearGrace();
    this.follower = follower;
    const served = new Promise<Served>((resolve, reject) => {
      const onCancel = (): void => this.orphan();
      const detach = (): void => signal.removeEventListener('abort', onCancel);
      this.answer = {
        resolve: (value) => (detach(), resolve(value)),
        reject: (error) => (detach(), reject(error)),
      };
      signal.addEventListener('abort', onCancel, { once: true });
    });
    if (signal.aborted) this.orphan();
    this.feed();
    if (this.ended) this.finish();
    else this.resumeIfPaused();
    return served;
  }

  /** Stops the generation; the request it serves, if any, gets nothing. */
  abort(): void {
    this.close()?.resolve({ kind: 'dropped' });
  }

  private async run(request: CompletionRequest, context: CursorContext, previous: Promise<void>): Promise<void> {
    await previous;
    if (this.engineStopped) return;
    try {
      const { prompts, engine } = this.model;
      const { settings } = this;
      const prompt = await prompts.build(
        { uri: request.uri, prefix: context.prefix, suffix: context.suffix, context: request.context },
        { prefixTokens: settings.prefixTokens, suffixTokens: settings.suffixTokens },
      );
      if (this.engineStopped) return;
      const generated: number[] = [];
      // The stop strings are watched here, over the text of every run: one may straddle a pause. (The engine flushes
      // what it held back when a run is stopped, so a filter of its own would hand out that tail twice on resuming.)
      const filter = new StopStringFilter(this.stopStrings);
      let raw = '';
      for (let first = true; ; first = false) {
        let stopped = false;
        const take = (delta: string): void => {
          raw += delta;
          const update = filter.update(raw);
          this.receive(update.delta);
          if (!update.stopped || stopped) return; // the engine's last step and flush may still come after the stop
          // a line written before the code at the cursor: its line break says it is a line of its own (post-processing
          // gives the code back its indentation)
          if (this.beforeCode && filter.stoppedBy === '\n') this.receive('\n');
          stopped = true;
          this.runController.abort();
        };
        const params = this.params(generated.length, first ? prompt.healedText : '');
        const result = await engine.generate([...prompt.tokens, ...generated], params, { signal: this.runController.signal, onText: take });
        if (first && raw === '') take(result.text); // an engine that does not stream
        // a run aborted while the generation goes on was paused: its follower was cancelled (orphan()). It resumes
        // from its tokens, unless the engine cannot say them (a remote server) or a character was cut in two.
        const paused = result.stopReason === 'cancelled' && !this.engineStopped && !stopped;
        const resumable = result.tokens !== null && !raw.endsWith('\uFFFD');
        if (result.tokens !== null) generated.push(...result.tokens);
        if (!paused || !resumable || generated.length >= settings.maxNewTokens) {
          this.truncated = paused && !resumable;
          this.receive(filter.flush());
          return this.end(stopped ? { ...result, stopReason: 'stop-string' } : result);
        }
        // Nobody follows: wait for a follower that needs more text, or for the end of the grace period. (One that
        // came while the engine was still stopping resumes it at once.)
        if (this.answer === null && !(await new Promise<boolean>((go) => (this.resume = go)))) return this.end(result);
        if (this.engineStopped) return this.end(result); // ended while it stopped, or before it could resume
        this.runController = new AbortController();
      }
    } catch (error) {
      this.fail(error);
    }
  }

  /** The engine gets no stop strings: they are applied to the whole text here (run()). */
  private params(generated: number, healedText: string): Partial<CompletionGenerationParams> {
    const { model, settings } = this;
    return {
      ...settings.engine,
      ...model.decoding,
      maxNewTokens: settings.maxNewTokens - generated,
      temperature: 0,
      stopStrings: [],
      healedText,
    };
  }

  private receive(delta: string): void {
    if (this.closed || delta === '') return;
    this.text += delta;
    this.feed();
    this.pauseIfUnseen();
  }

  /**
   * Nobody follows (the request was cancelled): the engine goes on only until the text holds the rest of the line
   * the user is typing in, which the next keystroke's request would show; what comes after, nobody may ever see.
   */
  private pauseIfUnseen(): void {
    const follower = this.follower;
    if (this.answer !== null || follower === null || follower === this.lookAheadFor || this.closed) return;
    if (this.text.slice(follower.typed.length).includes('\n')) this.runController.abort();
  }

  /** Hands the follower the text past what it typed, stopping the engine once its suggestion is complete. */
  private feed(): void {
    if (this.follower === null) return;
    const { typed, reporter } = this.follower;
    if (!agrees(this.text, typed)) return this.diverge();
    const fed = typed.length + reporter.text.length;
    if (this.text.length <= fed || !reporter.push(this.text.slice(fed)) || this.stoppedAsComplete) return;
    this.stoppedAsComplete = true;
    this.stopEngine();
  }

  /** Ends the engine's part: the run in flight is aborted, a paused generation is not resumed. */
  private stopEngine(): void {
    this.engineStopped = true;
    this.runController.abort();
    const resume = this.resume;
    this.resume = null;
    resume?.(false);
  }

  private end(result: CompletionGenerationResult | null): void {
    this.ended = true;
    this.result = result;
    if (!this.closed) this.finish();
  }

  private fail(error: unknown): void {
    this.ended = true;
    if (this.closed) return;
    // An engine may reject the abort that ended a complete suggestion instead of resolving with 'cancelled'.
    if (this.stoppedAsComplete) return this.end(null);
    this.close()?.reject(error);
  }

  /** Answers the follower of an ended generation; while in its grace period, it waits for a request instead. */
  private finish(): void {
    const follower = this.follower;
    if (this.answer === null || follower === null) return;
    // Ended where the typing did (or before it), it has nothing to show; a generation of the request's own may.
    const exhausted = follower.typed !== '' && this.text.length <= follower.typed.length;
    this.close()?.resolve(exhausted ? { kind: 'diverged' } : { kind: 'ended', result: this.result });
  }

  private diverge(): void {
    this.close()?.resolve({ kind: 'diverged' });
  }

  /**
   * The follower was cancelled: it gets nothing now, the engine pauses as soon as it has finished the current line
   * (pauseIfUnseen), and another request may take the generation over until the grace ends.
   */
  private orphan(): void {
    if (this.answer === null) return;
    this.answer.resolve({ kind: 'dropped' });
    this.answer = null;
    this.pauseIfUnseen();
    this.grace = setTimeout(() => this.abort(), completionRules.adoptionGraceMs);
  }

  /** A follower of a paused generation needs more text than it has: the engine goes on from where it stopped. */
  private resumeIfPaused(): void {
    const resume = this.resume;
    if (resume === null || this.answer === null || this.closed || this.stoppedAsComplete) return;
    this.resume = null;
    resume(true);
  }

  /** Serves nothing any more and stops the engine; returns the pending answer, for the caller to settle. */
  private close(): Answer | null {
    const answer = this.answer;
    this.answer = null;
    this.closed = true;
    this.clearGrace();
    this.stopEngine();
    return answer;
  }

  private clearGrace(): void {
    if (this.grace !== null) clearTimeout(this.grace);
    this.grace = null;
  }
}

/** The generated text and the typed text agree as far as both go. */
function agrees(generated: string, typed: string): boolean {
  return generated.length >= typed.length ? generated.startsWith(typed) : typed.startsWith(generated);
}

function sameModel(a: ModelInUse, b: ModelInUse): boolean {
  const keys = new Set([...Object.keys(a.decoding), ...Object.keys(b.decoding)] as (keyof Decoding)[]);
  return a.engine === b.engine && [...keys].every((key) => a.decoding[key] === b.decoding[key]);
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}
