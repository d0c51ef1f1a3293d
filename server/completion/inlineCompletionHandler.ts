// The LSP edge of completion: `textDocument/inlineCompletion` params in, InlineCompletionList out, with
// cancellation wired to the engine's abort signal and partial results streamed as `$/progress`; `layerskip/cursor`
// in, a prompt-cache warm-up there.
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
import { CursorNotification, InlineCompletionPartialResult, type CursorParams, type InlineSuggestion } from '../protocol.js';
import { onNotification, report } from '../lspMessages.js';
import type { CompletionActivity } from './completionActivity.js';
import type { CompletionRequests } from './completionRequests.js';
import type { CompletionService, ModelInUse } from './completionService.js';
import { messageOf, type ModelHost } from './modelHost.js';

const EMPTY: InlineCompletionList = { items: [] };
/**
 * How long an explicitly asked completion (Alt+\\, triggerKind Invoked) waits for a model that is still loading. An
 * automatic one gets nothing meanwhile: the next keystroke asks again.
 */
export const INVOKED_LOAD_WAIT_MS = 30_000;

export class InlineCompletionHandler {
  constructor(
    private readonly connection: Connection,
    private readonly documents: TextDocuments<TextDocument>,
    private readonly requests: CompletionRequests,
    private readonly host: ModelHost,
    private readonly service: CompletionService,
    private readonly activity: CompletionActivity,
    private readonly log: (message: string) => void,
  ) {}

  listen(): void {
    this.connection.onRequest(InlineCompletionRequest.type, (params, token) => this.handle(params, token));
    onNotification(this.connection, CursorNotification, (params) => this.warm(params));
    this.documents.onDidClose((event) => {
      this.requests.forget(event.document.uri);
      this.host.forgetDocument(event.document.uri);
    });
  }

  private async handle(params: InlineCompletionParams, token: CancellationToken): Promise<InlineCompletionList> {
    const model = this.host.modelInUse() ?? (await this.waitForModel(params, token));
    const document = this.documents.get(params.textDocument.uri);
    if (model === null) this.host.retryRemote();
    if (document === undefined || model === null || token.isCancellationRequested) return EMPTY;
    const settings = this.host.currentSettings;
    const selected = params.context.selectedCompletionInfo;
    const request = this.requests.at(document, params.position, settings, selected);
    if (request === null) return EMPTY;
    const controller = new AbortController();
    const subscription = token.onCancellationRequested(() => controller.abort());
    // an item must extend the completion list's selected entry and replace its range (LSP 3.18)
    const item = (text: string): InlineSuggestion => ({ insertText: (selected?.text ?? '') + text, range: selected?.range ?? { start: params.position, end: params.position } });
    const progressToken = params.partialResultToken;
    const onPartial = (partial: string): void => {
      if (progressToken === undefined || controller.signal.aborted) return;
      report(this.connection, InlineCompletionPartialResult, progressToken, [item(partial)]);
    };
    try {
      const outcome = await this.activity.generating(document.uri, () => this.service.complete(request, model, settings, controller.signal, onPartial));
      if (outcome.stats !== null) {
        this.activity.stats(outcome.stats);
        this.host.completionSucceeded(); // a result from the engine (not the typing cache or a dropped request)
      }
      // LSP: a cancelled request is answered with RequestCancelled, not with a result the client no longer wants.
      if (token.isCancellationRequested) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
      return outcome.text === '' ? EMPTY : { items: [item(outcome.text)] };
    } catch (error) {
      if (error instanceof ResponseError) throw error;
      this.log(`completion failed: ${messageOf(error)}`); // an engine that died tells the host itself (onDied)
      this.host.warn(`The last completion failed: ${messageOf(error)}`);
      return EMPTY;
    } finally {
      subscription.dispose();
    }
  }

  /** The cursor came to rest where the user did not type: the prompt cache is filled for a completion there. */
  private warm({ uri, position }: CursorParams): void {
    const model = this.host.modelInUse();
    const document = this.documents.get(uri);
    if (model === null || document === undefined) return;
    const settings = this.host.currentSettings;
    const request = this.requests.at(document, position, settings);
    if (request !== null) this.service.warm(request, model, settings);
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
}
