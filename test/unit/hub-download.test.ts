import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { repoCache } from '../../server/hub/cache.js';
import { HubError } from '../../server/hub/errors.js';
import type { TransferProgress } from '../../server/hub/progress.js';
import { downloadSnapshot, type SnapshotRequest } from '../../server/hub/snapshot.js';
import { sha256, startFakeHub, type FakeHub, type FakeRepo } from '../support/fakeHub.js';
import { unusedPid } from '../support/pids.js';

const REPO = 'facebook/layerskip-tiny';
const GATED = 'facebook/layerskip-gated';
const TOKEN = 'hf_testTokenThatMustNeverBeLogged';
const WEIGHTS = randomBytes(1_500_000);
const CONFIG = Buffer.from(JSON.stringify({ model_type: 'llama', num_hidden_layers: 2 }));
const TOKENIZER = Buffer.from(JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 } } }));
const FAST_RETRIES = { retries: 4, baseDelayMs: 5, maxDelayMs: 20 };

function tinyRepo(extra: Partial<FakeRepo> = {}): FakeRepo {
  return {
    files: {
      'config.json': { content: CONFIG, lfs: false },
      'tokenizer.json': { content: TOKENIZER, lfs: false },
      'model.safetensors': { content: WEIGHTS, lfs: true },
      'original/consolidated.00.pth': { content: randomBytes(1000), lfs: true },
    },
    ...extra,
  };
}

let hub: FakeHub;
let hubCache: string;

/** `token: null` = anonymous. */
function request(overrides: Partial<SnapshotRequest> = {}, token: string | null = TOKEN): SnapshotRequest {
  return {
    repoId: REPO,
    hubCache,
    connection: { endpoint: hub.endpoint, token: token ?? undefined, retryPolicy: FAST_RETRIES },
    stallTimeoutMs: 2_000,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<HubError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HubError, `expected a HubError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the download to fail');
}

async function listTree(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).map(String).sort();
  } catch {
    return [];
  }
}

void describe('downloadSnapshot against a fake hub', () => {
  before(async () => {
    hub = await startFakeHub({ tokens: { [TOKEN]: 'ok', hf_notAccepted: 'not-accepted', hf_pending: 'pending' } });
  });
  after(() => hub.close());
  beforeEach(async () => {
    hub.repos.set(REPO, tinyRepo());
    hub.repos.set(GATED, tinyRepo({ gated: 'manual' }));
    hub.faults = {};
    hub.log.length = 0;
    hubCache = await mkdtemp(join(tmpdir(), 'hub-cache-'));
  });
  afterEach(() => rm(hubCache, { recursive: true, force: true }));

  void it('fills the HF cache layout: blobs by etag, relative snapshot symlinks, refs/main', async () => {
    hub.treePageSize = 1; // forces the Link: rel="next" pagination
    try {
      const snapshot = await downloadSnapshot(request());
      const cache = repoCache(hubCache, REPO);
      assert.equal(snapshot.dir, cache.snapshotDir(snapshot.commit));
      assert.deepEqual(snapshot.files.map((file) => file.path).sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);
      assert.deepEqual(await readFile(join(snapshot.dir, 'model.safetensors')), WEIGHTS);
      assert.deepEqual(await readFile(join(snapshot.dir, 'config.json')), CONFIG);
      assert.equal(await readlink(join(snapshot.dir, 'model.safetensors')), `../../blobs/${sha256(WEIGHTS)}`);
      assert.equal((await readFile(join(cache.root, 'refs', 'main'), 'utf8')), snapshot.commit);
      assert.ok(!(await listTree(cache.root)).some((name) => name.endsWith('.incomplete')));
      assert.equal(snapshot.bytesFetched, WEIGHTS.byteLength + CONFIG.byteLength + TOKENIZER.byteLength);
      assert.ok(hub.log.filter((entry) => entry.url.includes('/tree/')).length >= 3, 'followed the tree pages');
      assert.ok(hub.log.some((entry) => entry.server === 'cdn'), 'LFS file came from the CDN');
      assert.deepEqual(hub.leakedAuthorization, [], 'the token never goes to the CDN');
      assert.ok(!hub.log.some((entry) => entry.url.includes('original/')), 'original/*.pth is not fetched');
    } finally {
      hub.treePageSize = 50;
    }
  });

  void it('a second download of the same revision fetches nothing', async () => {
    await downloadSnapshot(request());
    hub.log.length = 0;
    const again = await downloadSnapshot(request());
    assert.equal(again.bytesFetched, 0);
    assert.ok(!hub.log.some((entry) => entry.url.includes('/resolve/') || entry.server === 'cdn'));
  });

  void it('resumes an LFS file with Range after the connection drops mid-file, asking /resolve again', async () => {
    hub.faults.drop = { path: 'model.safetensors', afterBytes: 600_000, times: 2 };
    const progress: TransferProgress[] = [];
    const snapshot = await downloadSnapshot(request({ onProgress: (p) => progress.push(p), progressIntervalMs: 0 }));
    assert.deepEqual(await readFile(join(snapshot.dir, 'model.safetensors')), WEIGHTS);
    const cdn = hub.log.filter((entry) => entry.server === 'cdn');
    assert.equal(cdn.length, 3, 'two drops, then the rest');
    assert.equal(cdn[0]?.range, undefined);
    assert.match(cdn[1]?.range ?? '', /^bytes=\d+-$/);
    const resumedAt = Number(/bytes=(\d+)-/.exec(cdn[1]?.range ?? '')?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 600_000, `resumed at ${resumedAt}`);
    const resolves = hub.log.filter((entry) => entry.url.includes('/resolve/') && entry.url.endsWith('model.safetensors'));
    assert.equal(resolves.length, 3, 'the signed URL is asked for again on each resume');
    assert.ok(progress.some((p) => p.retrying !== undefined), 'progress reports the retry');
    const last = progress[progress.length - 1];
    assert.equal(last?.bytesDone, last?.bytesTotal);
  });

  void it('keeps going while each attempt makes progress, beyond the retry limit', async () => {
    hub.faults.drop = { path: 'model.safetensors', afterBytes: 200_000, times: FAST_RETRIES.retries + 3, perResponse: true };
    const snapshot = await downloadSnapshot(request());
    assert.deepEqual(await readFile(join(snapshot.dir, 'model.safetensors')), WEIGHTS);
    assert.equal(hub.log.filter((entry) => entry.server === 'cdn').length, FAST_RETRIES.retries + 4);
  });

  void it('gives up after the retry limit when attempts make no progress', async () => {
    hub.faults.drop = { path: 'model.safetensors', afterBytes: 0, times: 100, perResponse: true };
    const error = await rejection(downloadSnapshot(request()));
    assert.equal(error.kind, 'network');
    assert.equal(hub.log.filter((entry) => entry.server === 'cdn').length, FAST_RETRIES.retries + 1);
  });

  void it('resumes a plain file served by the hub itself', async () => {
    const big = Buffer.from(JSON.stringify({ vocab: randomBytes(200_000).toString('base64') }));
    hub.repos.set(REPO, tinyRepo({ files: { ...tinyRepo().files, 'tokenizer.json': { content: big, lfs: false } } }));
    hub.faults.drop = { path: 'tokenizer.json', afterBytes: 100_000, times: 1 };
    const snapshot = await downloadSnapshot(request());
    assert.deepEqual(await readFile(join(snapshot.dir, 'tokenizer.json')), big);
    assert.ok(hub.log.some((entry) => entry.server === 'hub' && entry.range !== undefined && entry.status === 206));
  });

  void it('continues a partial file left by an earlier run (blobs/<etag>.incomplete)', async () => {
    const cache = repoCache(hubCache, REPO);
    await mkdir(join(cache.root, 'blobs'), { recursive: true });
    await writeFile(cache.incompletePath(sha256(WEIGHTS)), WEIGHTS.subarray(0, 1_000_000));
    const snapshot = await downloadSnapshot(request());
    assert.deepEqual(await readFile(join(snapshot.dir, 'model.safetensors')), WEIGHTS);
    assert.equal(hub.log.find((entry) => entry.server === 'cdn')?.range, 'bytes=1000000-');
    assert.equal(snapshot.bytesFetched, WEIGHTS.byteLength - 1_000_000 + CONFIG.byteLength + TOKENIZER.byteLength);
  });

  void it('starts over when the server ignores Range (200 to a resume)', async () => {
    hub.faults.drop = { path: 'model.safetensors', afterBytes: 500_000, times: 1 };
    hub.faults.ignoreRange = true;
    const snapshot = await downloadSnapshot(request());
    assert.deepEqual(await readFile(join(snapshot.dir, 'model.safetensors')), WEIGHTS);
  });

  void it('resumes after a stalled transfer (no data for stallTimeoutMs)', async () => {
    hub.faults.stall = { path: 'model.safetensors', afterBytes: 700_000, times: 1 };
    const snapshot = await downloadSnapshot(request({ stallTimeoutMs: 300 }));
    assert.deepEqual(await readFile(join(snapshot.dir, 'model.safetensors')), WEIGHTS);
    assert.equal(hub.log.filter((entry) => entry.server === 'cdn').length, 2);
  });

  void it('retries 429, 503 and an expired CDN URL', async () => {
    hub.faults.rateLimitOnce = 1;
    hub.faults.unavailableOnce = 1;
    hub.faults.expiredUrlOnce = 1;
    const snapshot = await downloadSnapshot(request());
    assert.deepEqual(await readFile(join(snapshot.dir, 'model.safetensors')), WEIGHTS);
    assert.ok(hub.log.some((entry) => entry.status === 429));
    assert.ok(hub.log.some((entry) => entry.server === 'cdn' && entry.status === 403));
  });

  void it('a corrupted byte fails the checksum and leaves no file behind', async () => {
    hub.faults.corrupt = { path: 'model.safetensors', offset: 1234 };
    const error = await rejection(downloadSnapshot(request()));
    assert.equal(error.kind, 'checksum');
    assert.match(error.message, /model\.safetensors.*sha256.*deleted/s);
    const cache = repoCache(hubCache, REPO);
    const left = await listTree(join(cache.root, 'blobs'));
    assert.ok(!left.includes(sha256(WEIGHTS)) && !left.some((name) => name.endsWith('.incomplete')), `left: ${left}`);
    assert.ok(!(await listTree(join(cache.root, 'snapshots'))).some((name) => name.endsWith('model.safetensors')));
  });

  void it('a corrupted plain file fails its git sha1', async () => {
    hub.faults.corrupt = { path: 'config.json', offset: 3 };
    const error = await rejection(downloadSnapshot(request()));
    assert.equal(error.kind, 'checksum');
    assert.match(error.message, /config\.json.*git-sha1/s);
  });

  void it('gated repo without a token: 401, says to log in and accept the license, links the model page', async () => {
    const error = await rejection(downloadSnapshot(request({ repoId: GATED }, null)));
    assert.equal(error.kind, 'gated-login');
    assert.ok(error.message.includes(`${hub.endpoint}/${GATED}`));
    assert.match(error.message, /token/i);
    assert.ok(!hub.log.some((entry) => entry.url.includes('/resolve/')), 'failed before any file request');
  });

  void it('gated repo, license not accepted: 403, says to accept the license', async () => {
    const error = await rejection(downloadSnapshot(request({ repoId: GATED }, 'hf_notAccepted')));
    assert.equal(error.kind, 'gated-not-accepted');
    assert.match(error.message, /accept the license/);
    assert.ok(error.message.includes(`${hub.endpoint}/${GATED}`));
  });

  void it('gated repo, request pending review: 403, says it awaits review', async () => {
    const error = await rejection(downloadSnapshot(request({ repoId: GATED }, 'hf_pending')));
    assert.equal(error.kind, 'gated-pending');
    assert.match(error.message, /awaiting review/);
    assert.ok(error.message.includes(`${hub.endpoint}/${GATED}`));
  });

  void it('invalid token: 401, says the token was rejected', async () => {
    const badToken = 'hf_expiredTokenSecret123';
    const error = await rejection(downloadSnapshot(request({ repoId: GATED }, badToken)));
    assert.equal(error.kind, 'bad-token');
    assert.match(error.message, /token was rejected/);
    assert.ok(!error.message.includes(badToken));
  });

  void it('gated repo with access downloads', async () => {
    const snapshot = await downloadSnapshot(request({ repoId: GATED }));
    assert.deepEqual(await readFile(join(snapshot.dir, 'model.safetensors')), WEIGHTS);
  });

  void it('missing repo and missing revision: 404-type messages', async () => {
    const missing = await rejection(downloadSnapshot(request({ repoId: 'facebook/no-such-model' })));
    assert.equal(missing.kind, 'repo-not-found');
    const anonymous = await rejection(downloadSnapshot(request({ repoId: 'facebook/no-such-model' }, null)));
    assert.equal(anonymous.kind, 'repo-not-found');
    assert.match(anonymous.message, /private/);
    const revision = await rejection(downloadSnapshot(request({ revision: 'v9' })));
    assert.equal(revision.kind, 'revision-not-found');
  });

  void it('no network: a clear message, no retries forever', async () => {
    const closed = await startFakeHub();
    const endpoint = closed.endpoint;
    await closed.close();
    const error = await rejection(downloadSnapshot({ ...request(), connection: { endpoint, token: undefined, retryPolicy: FAST_RETRIES } }));
    assert.equal(error.kind, 'network');
    assert.match(error.message, /Could not reach the Hugging Face Hub.*ECONNREFUSED/s);
  });

  void it('checks free disk space before the first byte', async () => {
    hub.repos.set(REPO, tinyRepo({ reportedSizes: { 'model.safetensors': 2 ** 62 } }));
    const error = await rejection(downloadSnapshot(request()));
    assert.equal(error.kind, 'disk-full');
    assert.match(error.message, /Not enough disk space/);
    assert.ok(!hub.log.some((entry) => entry.url.includes('/resolve/')));
  });

  void it('cancel stops the transfer: no blob, no snapshot entry, partial kept only as .incomplete', async () => {
    hub.faults.stall = { path: 'model.safetensors', afterBytes: 400_000, times: 1 };
    const controller = new AbortController();
    const progress: TransferProgress[] = [];
    const pending = downloadSnapshot({
      ...request({ progressIntervalMs: 0, stallTimeoutMs: 60_000 }),
      connection: { endpoint: hub.endpoint, token: TOKEN, retryPolicy: FAST_RETRIES, signal: controller.signal },
      onProgress: (p) => {
        progress.push(p);
        if (p.file === 'model.safetensors' && p.bytesDone > 100_000) controller.abort();
      },
    });
    const error = await rejection(pending);
    assert.equal(error.kind, 'cancelled');
    const cache = repoCache(hubCache, REPO);
    assert.ok(!(await listTree(join(cache.root, 'blobs'))).includes(sha256(WEIGHTS)));
    assert.ok(!(await listTree(join(cache.root, 'snapshots'))).some((name) => name.endsWith('model.safetensors')));
  });

  void it('the token appears in no message and no progress report', async () => {
    const seen: string[] = [];
    hub.faults.drop = { path: 'model.safetensors', afterBytes: 100_000, times: 1 };
    await downloadSnapshot(request({ onProgress: (p) => seen.push(JSON.stringify(p)), progressIntervalMs: 0 }));
    hub.faults.corrupt = { path: 'config.json', offset: 1 };
    await rm(hubCache, { recursive: true, force: true });
    seen.push((await rejection(downloadSnapshot(request()))).message);
    seen.push((await rejection(downloadSnapshot(request({ repoId: GATED }, 'hf_pending')))).message);
    assert.ok(seen.length > 3);
    assert.ok(!seen.some((text) => text.includes(TOKEN)));
  });

  void it('a disk that fills up mid-file gives the disk-full message (partial file on /dev/full)', { skip: !existsSync('/dev/full') }, async () => {
    const cache = repoCache(hubCache, REPO);
    await mkdir(join(cache.root, 'blobs'), { recursive: true });
    await symlink('/dev/full', cache.incompletePath(sha256(WEIGHTS)));
    const error = await rejection(downloadSnapshot(request()));
    assert.equal(error.kind, 'disk-full');
    assert.match(error.message, /disk filled up while writing .*resumes/s);
  });

  void it('one writer per blob: a live lock holder is reported, a dead one is taken over', async () => {
    const cache = repoCache(hubCache, REPO);
    await mkdir(join(cache.root, 'blobs'), { recursive: true });
    const lock = `${cache.blobPath(sha256(WEIGHTS))}.lock`;
    await writeFile(lock, String(process.ppid));
    const busy = await rejection(downloadSnapshot(request()));
    assert.match(busy.message, new RegExp(`another process \\(pid ${process.ppid}\\)`));
    const deadPid = unusedPid();
    await writeFile(lock, String(deadPid));
    const snapshot = await downloadSnapshot(request());
    assert.deepEqual(await readFile(join(snapshot.dir, 'model.safetensors')), WEIGHTS);
    assert.ok(!existsSync(lock), 'lock released');
  });

  void it('HF_HUB_OFFLINE uses the cached snapshot and says so when there is none', async () => {
    const online = await downloadSnapshot(request());
    hub.log.length = 0;
    const offline = await downloadSnapshot(request({ offline: true }));
    assert.equal(offline.dir, online.dir);
    assert.equal(hub.log.length, 0);
    const error = await rejection(downloadSnapshot(request({ offline: true, repoId: GATED })));
    assert.equal(error.kind, 'offline');
  });
});
