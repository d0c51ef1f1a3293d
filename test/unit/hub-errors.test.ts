import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyReply, type RequestContext } from '../../server/hub/errors.js';
import { RateMeter, describeProgress, etaSeconds, formatBytes, formatDuration } from '../../server/hub/progress.js';
import { selectCheckpointFiles } from '../../server/hub/selection.js';
import type { RepoFile } from '../../server/hub/api.js';
import { backoffMs } from '../../server/hub/retry.js';
import { HubError } from '../../server/hub/errors.js';

const context: RequestContext = { repoId: 'facebook/layerskip-llama3.2-1B', modelPage: 'https://huggingface.co/facebook/layerskip-llama3.2-1B', hadToken: true };

function reply(status: number, headers: Record<string, string>, bodyText?: string) {
  return { status, headers: new Headers(headers), bodyText };
}

void describe('classifyReply: the Hub replies from the notes, each to its own message', () => {
  const id = context.repoId;
  void it('gating', () => {
    const login = classifyReply(reply(401, { 'x-error-code': 'GatedRepo', 'x-error-message': `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.` }), { ...context, hadToken: false });
    assert.equal(login.kind, 'gated-login');
    const notAccepted = classifyReply(reply(403, { 'x-error-code': 'GatedRepo', 'x-error-message': `Access to model ${id} is restricted and you are not in the authorized list. Visit https://huggingface.co/${id} to ask for access.` }), context);
    assert.equal(notAccepted.kind, 'gated-not-accepted');
    const pending = classifyReply(reply(403, { 'x-error-code': 'GatedRepo', 'x-error-message': `Your request to access model ${id} is awaiting a review from the repo authors.` }), context);
    assert.equal(pending.kind, 'gated-pending');
    for (const error of [login, notAccepted, pending]) assert.ok(error.message.includes(context.modelPage), error.message);
  });

  void it('gating recognised from a JSON body when the headers are missing', () => {
    const error = classifyReply(reply(403, {}, JSON.stringify({ error: `Your request to access model ${id} is awaiting a review from the repo authors.` })), context);
    assert.equal(error.kind, 'gated-pending');
  });

  void it('tokens, missing things, rate limits', () => {
    assert.equal(classifyReply(reply(401, { 'x-error-message': 'Invalid credentials in Authorization header' }), context).kind, 'bad-token');
    const anonymous = classifyReply(reply(401, { 'x-error-message': 'Invalid username or password.' }), { ...context, hadToken: false });
    assert.equal(anonymous.kind, 'repo-not-found');
    assert.match(anonymous.message, /private/);
    assert.equal(classifyReply(reply(403, {}), context).kind, 'forbidden');
    assert.equal(classifyReply(reply(404, { 'x-error-code': 'RevisionNotFound' }), { ...context, revision: 'v2' }).kind, 'revision-not-found');
    assert.equal(classifyReply(reply(404, { 'x-error-code': 'EntryNotFound' }), { ...context, file: 'x.json' }).kind, 'file-not-found');
    assert.equal(classifyReply(reply(404, { 'x-error-code': 'RepoNotFound' }), context).kind, 'repo-not-found');
    const limited = classifyReply(reply(429, { 'retry-after': '7' }), context);
    assert.equal(limited.kind, 'rate-limited');
    assert.equal(limited.retryAfterSeconds, 7);
    assert.equal(classifyReply(reply(502, {}), context).kind, 'server');
  });

  void it('backoff doubles, honours Retry-After, and is capped', () => {
    const policy = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffMs(policy, 0, new Error('x')), 100);
    assert.equal(backoffMs(policy, 2, new Error('x')), 400);
    assert.equal(backoffMs(policy, 9, new Error('x')), 1000);
    assert.equal(backoffMs(policy, 0, new HubError('rate-limited', 'x', { retryAfterSeconds: 0.5 })), 500);
  });
});

void describe('progress', () => {
  void it('rate over a sliding window, ETA, formatting', () => {
    let now = 0;
    const meter = new RateMeter(5_000, () => now);
    meter.record(0);
    assert.equal(meter.bytesPerSecond(), undefined, 'not enough to say yet');
    now = 1_000;
    meter.record(2_000_000);
    assert.equal(meter.bytesPerSecond(), 2_000_000);
    assert.equal(etaSeconds(6_000_000, 2_000_000), 3);
    assert.equal(etaSeconds(1, undefined), undefined);
    assert.equal(formatBytes(1_500_000_000), '1.5 GB');
    assert.equal(formatBytes(999), '999 B');
    assert.equal(formatDuration(3725), '1:02:05');
    assert.equal(formatDuration(65), '01:05');
    assert.equal(
      describeProgress({ file: 'a', fileIndex: 0, fileCount: 1, bytesDone: 1e9, bytesTotal: 2.5e9, bytesPerSecond: 35e6, etaSeconds: 42.8 }),
      '1.0 GB / 2.5 GB, 35.0 MB/s, 00:43 left',
    );
  });
});

void describe('selectCheckpointFiles', () => {
  const file = (path: string): RepoFile => ({ path, size: 1, gitOid: 'x', lfsSha256: undefined });
  void it('keeps config, tokenizer, safetensors and license; skips the original Meta weights and .bin copies', () => {
    const chosen = selectCheckpointFiles(['config.json', 'tokenizer.json', 'model-00001-of-00002.safetensors', 'model.safetensors.index.json', 'LICENSE', 'original/consolidated.00.pth', 'original/params.json', 'pytorch_model.bin', '.gitattributes'].map(file));
    assert.deepEqual(chosen.map((f) => f.path), ['config.json', 'tokenizer.json', 'model-00001-of-00002.safetensors', 'model.safetensors.index.json', 'LICENSE']);
  });
  void it('falls back to .bin weights when there are no safetensors', () => {
    assert.deepEqual(selectCheckpointFiles(['config.json', 'pytorch_model.bin'].map(file)).map((f) => f.path), ['config.json', 'pytorch_model.bin']);
  });
});
