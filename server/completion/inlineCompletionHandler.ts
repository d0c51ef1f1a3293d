// The LSP edge of completion: `textDocument/inlineCompletion` params in, InlineCompletionList out, with
// cancellation wired to the engine's abort signal and partial results streamed as `$/progress`.
import {
  InlineCompletionRequest,
  InlineCompletionTriggerKind,
  LSPErrorCodes,
  ResponseError,
  type CancellationToken,
  type Connection,
  type InlineCompletionList,
  type InlineCompletionParams,
  type TextDocuments,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import {
  GeneratingNotification,
  InlineCompletionPartialResult,
  StatsNotification,
  type CompletionStats,
  type GeneratingParams,
} from '../protocol.js';
import { notify, report } from '../lspMessages.js';
import type { CompletionOutcome, CompletionRequest, CompletionService, ModelInUse } from './completionService.js';
import { crossFileContext, type OpenDocument } from './crossFileContext.js';
import type { LayerMeasurements } from './layerMeasurements.js';
import { LookAhead } from './lookAhead.js';
import { messageOf, type ModelHost } from './modelHost.js';
import { completionRules } from './rules.js';

const EMPTY: InlineCompletionList = { items: [] };
/**
 * How long an explicitly asked completion (Alt+\\, triggerKind Invoked) waits for a model that is still loading. An
 * automatic one gets nothing meanwhile: the next keystroke asks again.
 */
export const INVOKED_LOAD_WAIT_MS = 30_000;

export class InlineCompletionHandler {
  /** Where the user last asked for a completion in each document (feeds cross-file context). */
  private readonly focus = new Map<string, { line: number; used: number }>();
  private requestCount = 0;
  /** Requests between receipt and answer; the client's spinner shows while any is (an aborted one overlaps the next). */
  private running = 0;
  private warnedDocuments = new Set<string>();
  private readonly lookAhead = new LookAhead();

  constructor(
    private readonly connection: Connection,
    private readonly documents: TextDocuments<TextDocument>,
    private readonly host: ModelHost,
    private readonly service: CompletionService,
    private readonly measurements: LayerMeasurements,
    private readonly log: (message: string) => void,
  ) {}

  listen(): void {
    this.connection.onRequest(InlineCompletionRequest.type, (params, token) => this.handle(params, token));
    this.documents.onDidClose((event) => {
      const uri = event.document.uri;
      this.focus.delete(uri);
      this.warnedDocuments.delete(uri);
      this.host.forgetDocument(uri);
    });
  }

  private async handle(params: InlineCompletionParams, token: CancellationToken): Promise<InlineCompletionList> {
    const model = this.host.modelInUse() ?? (await this.waitForModel(params, token));
    const document = this.documents.get(params.textDocument.uri);
    if (model === null) this.host.retryRemote();
    if (document === undefined || model === null || token.isCancellationRequested) return EMPTY;
    const text = document.getText();
    const refusal = refusalReason(text);
    if (refusal !== null) {
      if (!this.warnedDocuments.has(document.uri)) this.log(`No completions for ${document.uri}: ${refusal}`);
      this.warnedDocuments.add(document.uri);
      return EMPTY;
    }
    this.focus.set(document.uri, { line: params.position.line, used: ++this.requestCount });
    const controller = new AbortController();
    const subscription = token.onCancellationRequested(() => controller.abort());
    const range = { start: params.position, end: params.position };
    const settings = this.host.currentSettings;
    const request: CompletionRequest = {
      uri: document.uri,
      languageId: document.languageId,
      text,
      offset: document.offsetAt(params.position),
      context: settings.crossFileContext ? this.crossFileContext(document, settings.prefixTokens) : '',
    };
    const progressToken = params.partialResultToken;
    const onPartial = (partial: string): void => {
      if (progressToken === undefined || controller.signal.aborted) return;
      report(this.connection, InlineCompletionPartialResult, progressToken, [{ insertText: partial, range }]);
    };
    if (++this.running === 1) this.notifyGenerating(document.uri, true);
    try {
      const received = performance.now();
      const prepared = this.lookAhead.take(request, settings);
      const outcome = prepared === null
        ? await this.service.complete(request, model, settings, controller.signal, onPartial)
        : withLatency(await prepared, performance.now() - received);
      if (outcome.stats !== null) {
        this.reportStats(outcome.stats);
        this.host.completionSucceeded(); // a result from the engine (not the typing cache or a dropped request)
      }
      if (outcome.text !== '' && !token.isCancellationRequested) this.startLookAhead(request, outcome.text, model);
      // LSP: a cancelled request is answered with RequestCancelled, not with a result the client no longer wants.
      if (token.isCancellationRequested) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
      return outcome.text === '' ? EMPTY : { items: [{ insertText: outcome.text, range }] };
    } catch (error) {
      if (error instanceof ResponseError) throw error;
      this.log(`completion failed: ${messageOf(error)}`); // an engine that died tells the host itself (onDied)
      this.host.completionFailed(`The last completion failed: ${messageOf(error)}`);
      return EMPTY;
    } finally {
      subscription.dispose();
      if (--this.running === 0) this.notifyGenerating(document.uri, false);
    }
  }

  /** An explicit request while the model loads waits for the load (bounded); others get no model. */
  private async waitForModel(params: InlineCompletionParams, token: CancellationToken): Promise<ModelInUse | null> {
    if (params.context.triggerKind !== InlineCompletionTriggerKind.Invoked) return null;
    const controller = new AbortController();
    const subscription = token.onCancellationRequested(() => controller.abort());
    try {
      await this.host.whenSettled(INVOKED_LOAD_WAIT_MS, controller.signal);
    } finally {
      subscription.dispose();
    }
    return this.host.modelInUse();
  }

  private startLookAhead(request: CompletionRequest, suggestion: string, model: ModelInUse): void {
    const settings = this.host.currentSettings;
    this.lookAhead.start(request, suggestion, settings, (next) =>
      this.service.complete(next, model, settings, new AbortController().signal, () => undefined),
    );
  }

  private crossFileContext(current: TextDocument, prefixTokens: number): string {
    const open: OpenDocument[] = this.documents.all().map((doc) => ({
      uri: doc.uri,
      languageId: doc.languageId,
      text: doc.getText(),
      focusLine: this.focus.get(doc.uri)?.line ?? 0,
      lastUsed: this.focus.get(doc.uri)?.used ?? 0,
    }));
    const maxChars = prefixTokens * completionRules.crossFileShare * completionRules.charsPerTokenGuess;
    return crossFileContext(current, open, maxChars);
  }

  private reportStats(stats: CompletionStats): void {
    this.measurements.record(stats);
    notify(this.connection, StatsNotification, stats);
  }

  private notifyGenerating(uri: string, generating: boolean): void {
    const params: GeneratingParams = { uri, generating };
    notify(this.connection, GeneratingNotification, params);
  }
}

/** A look-ahead result served to the request it was prepared for: its latency is the wait that request saw. */
function withLatency(outcome: CompletionOutcome, latencyMs: number): CompletionOutcome {
  if (outcome.stats === null) return outcome;
  return { ...outcome, stats: { ...outcome.stats, latencyMs, firstLineMs: latencyMs, lookAhead: true } };
}

/** Why a document gets no completions (too large, binary), or null. */
export function refusalReason(text: string): string | null {
  if (text.length > completionRules.maxDocumentCharacters) {
    return `the document has ${text.length} characters (more than ${completionRules.maxDocumentCharacters})`;
  }
  if (text.includes('\u0000')) return 'the document looks binary (it holds NUL characters)';
  return null;
}
