// Look-ahead: once a suggestion is delivered, the next one is computed as if the user accepted it, so that the
// ghost text after Tab is ready at once (llama.vscode and Copilot do the same). Only a request for exactly that
// accepted text gets it; any other request drops it (and, if still running, aborts it like any stale generation).
import type { ServerSettings } from '../protocol.js';
import type { CompletionOutcome, CompletionRequest } from './completionService.js';

interface Pending {
  uri: string;
  prefix: string;
  suffix: string;
  /** The settings it was computed with (a new object after every change): stale after a settings change. */
  settings: ServerSettings;
  outcome: Promise<CompletionOutcome>;
}

export class LookAhead {
  private pending: Pending | null = null;

  /** Starts computing what follows `suggestion` once accepted at `request`'s cursor, with `run`. */
  start(request: CompletionRequest, suggestion: string, settings: ServerSettings, run: (next: CompletionRequest) => Promise<CompletionOutcome>): void {
    const prefix = request.text.slice(0, request.offset) + suggestion;
    const suffix = request.text.slice(request.offset);
    const outcome = run({ ...request, text: prefix + suffix, offset: prefix.length });
    outcome.catch(() => undefined); // failures surface when (if) it is taken
    this.pending = { uri: request.uri, prefix, suffix, settings, outcome };
  }

  /** The look-ahead for `request` if it is exactly the accepted state; null otherwise. Either way it is used up. */
  take(request: CompletionRequest, settings: ServerSettings): Promise<CompletionOutcome> | null {
    const pending = this.pending;
    this.pending = null;
    if (pending === null || pending.settings !== settings || pending.uri !== request.uri || request.offset !== pending.prefix.length) return null;
    const { text } = request;
    const matches = text.length === pending.prefix.length + pending.suffix.length && text.startsWith(pending.prefix) && text.endsWith(pending.suffix);
    return matches ? pending.outcome : null;
  }
}
