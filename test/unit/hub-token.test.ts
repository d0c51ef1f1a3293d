import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TOKEN_SECRET_KEY, TokenStore, validateToken, type SecretStore } from '../../extension/hub/tokenStore.js';
import { hubEnvironment, tokenFromEnvironment } from '../../server/hub/env.js';
import { createProgressReporter } from '../../server/cli/downloadProgress.js';
import { redact } from '../../server/hub/errors.js';

const TOKEN = 'hf_abcdefghijklmnopqrstuvwxyz012345';

function memorySecrets(): SecretStore & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return {
    values,
    get: (key) => Promise.resolve(values.get(key)),
    store: (key, value) => Promise.resolve(void values.set(key, value)),
    delete: (key) => Promise.resolve(void values.delete(key)),
  };
}

void describe('TokenStore (extension)', () => {
  void it('prefers the secret storage, then HF_TOKEN, then HUGGING_FACE_HUB_TOKEN', async () => {
    const secrets = memorySecrets();
    const store = new TokenStore(secrets, { HF_TOKEN: 'hf_fromEnvironment00000000000', HUGGING_FACE_HUB_TOKEN: 'hf_legacy' });
    assert.deepEqual(await store.current(), { token: 'hf_fromEnvironment00000000000', source: 'environment' });
    await store.save(`  ${TOKEN}\n`);
    assert.equal(secrets.values.get(TOKEN_SECRET_KEY), TOKEN, 'stored trimmed, under the secret key');
    assert.deepEqual(await store.current(), { token: TOKEN, source: 'secret-storage' });
    await store.forget();
    assert.equal(secrets.values.size, 0);
    assert.equal((await new TokenStore(secrets, { HUGGING_FACE_HUB_TOKEN: 'hf_legacy' }).current()).token, 'hf_legacy');
    const emptyHome = await mkdtemp(join(tmpdir(), 'hf-home-'));
    assert.deepEqual(await new TokenStore(secrets, { HF_HOME: emptyHome }).current(), { token: undefined, source: 'none' });
    await writeFile(join(emptyHome, 'token'), `${TOKEN}\n`);
    assert.deepEqual(await new TokenStore(secrets, { HF_HOME: emptyHome }).current(), { token: TOKEN, source: 'hf-login-file' });
  });

  void it('refuses text that is not a token, with a reason', async () => {
    assert.equal(validateToken(TOKEN), undefined);
    assert.match(validateToken('') ?? '', /Paste a token/);
    assert.match(validateToken('hf_abc def') ?? '', /no spaces/);
    assert.match(validateToken('ghp_0123456789012345678901234') ?? '', /hf_/);
    await assert.rejects(new TokenStore(memorySecrets(), {}).save('nope'), /hf_/);
  });
});

void describe('hub environment (CLI)', () => {
  void it('reads HF_ENDPOINT, HF_TOKEN, HF_HOME and HF_HUB_CACHE like huggingface_hub', async () => {
    const home = await mkdtemp(join(tmpdir(), 'hf-home-'));
    assert.deepEqual(hubEnvironment({ HF_ENDPOINT: 'http://127.0.0.1:9/', HF_HOME: home, HF_HUB_OFFLINE: '1' }), {
      endpoint: 'http://127.0.0.1:9',
      token: undefined,
      hubCache: join(home, 'hub'),
      offline: true,
    });
    assert.equal(hubEnvironment({ HF_HOME: home, HF_HUB_CACHE: '/elsewhere' }).hubCache, '/elsewhere');
    assert.equal(hubEnvironment({ HF_HOME: home }).endpoint, 'https://huggingface.co');
    await writeFile(join(home, 'token'), `${TOKEN}\n`);
    assert.equal(tokenFromEnvironment({ HF_HOME: home }), TOKEN, '`huggingface-cli login` token file');
    assert.equal(tokenFromEnvironment({ HF_HOME: home, HF_TOKEN: 'hf_env' }), 'hf_env', 'HF_TOKEN wins');
  });

  void it('redacts the token from everything the CLI prints, in every progress mode', () => {
    assert.equal(redact(`bad ${TOKEN}!`, TOKEN), 'bad hf_***!');
    for (const mode of ['bar', 'json', 'none'] as const) {
      let written = '';
      const sink = { write: (text: string) => (written += text) };
      const reporter = createProgressReporter(mode, TOKEN, { out: sink, err: sink });
      reporter.note(`note ${TOKEN}`);
      reporter.download({ file: TOKEN, fileIndex: 0, fileCount: 1, bytesDone: 5, bytesTotal: 10, bytesPerSecond: 1, etaSeconds: 5, retrying: TOKEN });
      reporter.convert(`convert ${TOKEN}`);
      reporter.failed('bad-token', `rejected ${TOKEN}`);
      reporter.finish();
      assert.ok(written.length > 0);
      assert.ok(!written.includes(TOKEN), `${mode}: ${written}`);
    }
  });
});
