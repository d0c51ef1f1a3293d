// Every way a download can fail, each with a message that tells the user what happened and what to do.
// Hub replies are classified by X-Error-Code / X-Error-Message first (HEAD replies have no body), then by status.

export type HubErrorKind =
  | 'offline' // HF_HUB_OFFLINE is set
  | 'network' // no connection, DNS failure, connection dropped too many times
  | 'gated-login' // gated repo, no token
  | 'gated-not-accepted' // gated repo, token fine, license not accepted
  | 'gated-pending' // gated repo, access request awaiting review
  | 'bad-token' // token invalid or expired
  | 'forbidden' // token valid but not allowed (e.g. fine-grained token without access to gated repos)
  | 'repo-not-found' // missing repo, or private without a token
  | 'revision-not-found'
  | 'file-not-found'
  | 'rate-limited'
  | 'server' // 5xx or an unexpected reply
  | 'disk-full'
  | 'checksum'
  | 'cancelled';

export class HubError extends Error {
  override name = 'HubError';
  /** Seconds the server asked us to wait before trying again (429/503 Retry-After). */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    readonly kind: HubErrorKind,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** A reply as far as classification needs it (works for fetch Responses and for test doubles). */
export interface ReplySummary {
  status: number;
  headers: { get(name: string): string | null };
  /** Body text, when the reply had one (not for HEAD). */
  bodyText?: string;
}

export interface RequestContext {
  repoId: string;
  /** Page where the user accepts the license / requests access. */
  modelPage: string;
  hadToken: boolean;
  revision?: string;
  file?: string;
}

const TOKEN_HINT = 'Set one with "LayerSkip: Set Hugging Face Token" (or the HF_TOKEN environment variable).';

function serverMessage(reply: ReplySummary): string {
  const fromHeader = reply.headers.get('x-error-message');
  if (fromHeader) return fromHeader;
  if (!reply.bodyText) return '';
  try {
    const parsed: unknown = JSON.parse(reply.bodyText);
    if (parsed && typeof parsed === 'object' && 'error' in parsed && typeof parsed.error === 'string') {
      return parsed.error;
    }
  } catch {
    // not JSON: use the text as is
  }
  return reply.bodyText.slice(0, 300);
}

/** Turns a failed Hub reply into a HubError whose message says which of the documented situations this is. */
export function classifyReply(reply: ReplySummary, context: RequestContext): HubError {
  const code = reply.headers.get('x-error-code') ?? '';
  const said = serverMessage(reply);
  const { repoId, modelPage } = context;
  const where = context.file ? ` (file ${context.file})` : '';

  if (code === 'GatedRepo' || /restricted|authorized list|awaiting a review/i.test(said)) {
    if (/awaiting a review/i.test(said)) {
      return new HubError(
        'gated-pending',
        `Your request to access ${repoId} is still awaiting review by the repo authors. ` +
          `Try again once it is approved: ${modelPage}`,
      );
    }
    if (reply.status === 401 || !context.hadToken) {
      return new HubError(
        'gated-login',
        `${repoId} is a gated model: you need a Hugging Face token and to accept its license at ${modelPage}. ` +
          TOKEN_HINT,
      );
    }
    return new HubError(
      'gated-not-accepted',
      `Your token is valid but you have not been granted access to ${repoId}: accept the license ` +
        `(FAIR noncommercial research license for the LayerSkip checkpoints) at ${modelPage}`,
    );
  }
  if (reply.status === 401) {
    if (context.hadToken) {
      return new HubError(
        'bad-token',
        `The Hugging Face token was rejected (invalid or expired${said ? `: "${said}"` : ''}). ` +
          `Create a read token at https://huggingface.co/settings/tokens. ${TOKEN_HINT}`,
      );
    }
    return new HubError(
      'repo-not-found',
      `${repoId} was not found, or it is private and needs a token. Check the id at ${modelPage}. ${TOKEN_HINT}`,
    );
  }
  if (reply.status === 403) {
    return new HubError(
      'forbidden',
      `Access to ${repoId}${where} was refused${said ? `: "${said}"` : ''}. If you use a fine-grained token, ` +
        `allow it to read gated repos. Model page: ${modelPage}`,
    );
  }
  if (reply.status === 404) {
    if (code === 'RevisionNotFound') {
      return new HubError('revision-not-found', `${repoId} has no revision "${context.revision ?? ''}": ${modelPage}`);
    }
    if (code === 'EntryNotFound') {
      return new HubError('file-not-found', `${repoId} has no file ${context.file ?? ''}: ${modelPage}`);
    }
    return new HubError('repo-not-found', `${repoId} was not found on the Hub (${modelPage}).`);
  }
  const retryAfter = retryAfterSeconds(reply.headers.get('retry-after'));
  if (reply.status === 429) {
    return new HubError(
      'rate-limited',
      `The Hub is rate-limiting requests${said ? ` ("${said}")` : ''}; try again in a few minutes.`,
      { retryAfterSeconds: retryAfter },
    );
  }
  return new HubError(
    'server',
    `The Hub answered ${reply.status} for ${repoId}${where}${said ? `: "${said}"` : ''}.`,
    { retryAfterSeconds: retryAfter },
  );
}

function retryAfterSeconds(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

/** Errors from fetch / streams that mean "the network failed", as opposed to bugs. */
export function networkError(cause: unknown, what: string): HubError {
  const detail = describeCause(cause);
  return new HubError(
    'network',
    `Could not reach the Hugging Face Hub while ${what}${detail ? ` (${detail})` : ''}. ` +
      'Check your connection or proxy (HF_ENDPOINT selects a mirror).',
    { cause },
  );
}

/** The innermost useful text of a fetch error ("fetch failed" hides the real cause). */
export function describeCause(cause: unknown): string {
  const parts: string[] = [];
  let current: unknown = cause;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    parts.push(code ? `${code}: ${current.message}` : current.message);
    current = current.cause;
  }
  return parts.filter((part) => part !== 'fetch failed').join(': ');
}

/** Replaces a secret everywhere in a text (defence in depth for anything shown or logged). */
export function redact(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('hf_***') : text;
}
