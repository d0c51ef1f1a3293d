// The extension's Download Model / Installed Models flows, driven through a scripted HubUi (no editor) against the
// fake hub, running the real CLI: download -> convert -> switch layerskip.modelPath, token asked once and kept in
// (fake) secret storage, never logged; gating errors with their buttons; cancel.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { downloadModelCommand, type HubDeps } from '../../extension/hub/downloadFlow.js';
import type { HubUi, PackageDtypeName, ProgressSink, UiAction } from '../../extension/hub/hubUi.js';
import { installedModelsCommand } from '../../extension/hub/modelsFlow.js';
import { TOKEN_SECRET_KEY, TokenStore, type SecretStore } from '../../extension/hub/tokenStore.js';
import { readManifest } from '../../server/model/manifest.js';
import type { InstalledPackage, KnownCheckpoint } from '../../server/protocol.js';
import { generateCheckpoint } from '../support/checkpoints.js';
import { LspSession, tinyModelPackage, UNTIMED } from './lsp-harness.js';
import { repoFromDirectory, startFakeHub, type FakeHub, type FakeRepo } from '../support/fakeHub.js';

const REPO = 'facebook/layerskip-ext-tiny';
const TOKEN = 'hf_extensionSecretToken0123456789';
const CLI = join(__dirname, '..', '..', 'server', 'cli.ts');

class MapSecrets implements SecretStore {
  readonly values = new Map<string, string>();
  get(key: string): Thenable<string | undefined> {
    return Promise.resolve(this.values.get(key));
  }
  store(key: string, value: string): Thenable<void> {
    this.values.set(key, value);
    return Promise.resolve();
  }
  delete(key: string): Thenable<void> {
    this.values.delete(key);
    return Promise.resolve();
  }
}

/** A HubUi answering from a script and recording everything shown. */
class ScriptedUi implements HubUi {
  repoId = REPO;
  dtype: PackageDtypeName = 'fp16';
  tokenAnswer: string | undefined = TOKEN;
  tokenAsked = 0;
  known: KnownCheckpoint[] = [];
  licenseNote = '';
  progressTitles: string[] = [];
  progressMessages: string[] = [];
  infos: string[] = [];
  errors: { message: string; actions: UiAction[] }[] = [];
  logs: string[] = [];
  modelPath: string | undefined;
  installedChoice: ((models: InstalledPackage[]) => { model: InstalledPackage; action: 'use' | 'remove' } | undefined) | undefined;
  cancelWhen: ((message: string) => boolean) | undefined;

  pickCheckpoint(known: KnownCheckpoint[], licenseNote: string): Promise<string | undefined> {
    this.known = known;
    this.licenseNote = licenseNote;
    return Promise.resolve(this.repoId);
  }
  pickDtype(): Promise<PackageDtypeName | undefined> {
    return Promise.resolve(this.dtype);
  }
  askToken(): Promise<string | undefined> {
    this.tokenAsked++;
    return Promise.resolve(this.tokenAnswer);
  }
  async withProgress<T>(title: string, task: (progress: ProgressSink) => Promise<T>): Promise<T> {
    this.progressTitles.push(title);
    const cancelListeners: (() => void)[] = [];
    return task({
      report: (message) => {
        this.progressMessages.push(message);
        if (this.cancelWhen?.(message)) {
          this.cancelWhen = undefined;
          for (const listener of cancelListeners) listener();
        }
      },
      onCancel: (listener) => cancelListeners.push(listener),
    });
  }
  pickInstalled(models: InstalledPackage[]): Promise<{ model: InstalledPackage; action: 'use' | 'remove' } | undefined> {
    return Promise.resolve(this.installedChoice?.(models));
  }
  confirm(): Promise<boolean> {
    return Promise.resolve(true);
  }
  infoActions: UiAction[][] = [];
  info(message: string, ...actions: UiAction[]): Promise<void> {
    this.infos.push(message);
    this.infoActions.push(actions);
    return Promise.resolve();
  }
  error(message: string, ...actions: UiAction[]): Promise<void> {
    this.errors.push({ message, actions });
    return Promise.resolve();
  }
  openUrl(): Promise<void> {
    return Promise.resolve();
  }
  currentModelPath(): string | undefined {
    return this.modelPath;
  }
  setModelPath(dir: string | undefined): Promise<void> {
    this.modelPath = dir;
    return Promise.resolve();
  }
  log(line: string): void {
    this.logs.push(line);
  }
}

let hub: FakeHub;
let work: string;
let checkpointRepo: FakeRepo;

function deps(ui: ScriptedUi, secrets: SecretStore): HubDeps {
  const env: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: hub.endpoint, HF_HOME: join(work, 'hf-home'), HF_HUB_CACHE: join(work, 'hub') };
  delete env.HF_TOKEN;
  delete env.HUGGING_FACE_HUB_TOKEN;
  return {
    ui,
    tokens: new TokenStore(secrets, { HF_HOME: join(work, 'hf-home') }),
    launch: { command: process.execPath, prefixArgs: ['--import', 'tsx', CLI], env },
    modelsDir: join(work, 'models'),
    endpoint: hub.endpoint,
  };
}

void describe('extension hub flows against a fake hub (real CLI, scripted UI)', () => {
  before(async () => {
    const checkpoint = generateCheckpoint({ family: 'codellama', numLayers: 2, hiddenSize: 64, intermediateSize: 128, numHeads: 4 });
    checkpointRepo = repoFromDirectory(checkpoint.dir, { gated: 'manual' });
    await rm(checkpoint.dir, { recursive: true, force: true });
    hub = await startFakeHub({ tokens: { [TOKEN]: 'ok', hf_pendingReview000000000000: 'pending' }, lifetimeMs: 600_000 });
  });
  after(() => hub.close());
  beforeEach(async () => {
    hub.repos.set(REPO, checkpointRepo);
    hub.faults = {};
    work = await mkdtemp(join(tmpdir(), 'hub-ext-'));
  });

  void it('download -> convert -> switch: asks for the token once, stores it as a secret, never logs it', async () => {
    const ui = new ScriptedUi();
    const secrets = new MapSecrets();
    await downloadModelCommand(deps(ui, secrets));
    assert.deepEqual(ui.errors, []);
    const packageDir = join(work, 'models', 'facebook--layerskip-ext-tiny-fp16');
    assert.equal(ui.modelPath, packageDir, 'layerskip.modelPath now points at the new package');
    assert.equal(readManifest(packageDir).source.checkpoint, REPO);
    assert.equal(secrets.values.get(TOKEN_SECRET_KEY), TOKEN);
    assert.equal(ui.tokenAsked, 1);
    assert.ok(ui.known.some((c) => c.repoId === 'facebook/layerskip-codellama-7B' && c.recommendedExitLayer > 0));
    assert.match(ui.licenseNote, /FAIR noncommercial research license/);
    assert.deepEqual(ui.progressTitles, [`LayerSkip: downloading ${REPO}`, `LayerSkip: converting ${REPO} to fp16`]);
    assert.ok(ui.progressMessages.some((m) => /B \/ .*B/.test(m)), 'download progress shows bytes');
    assert.ok(ui.progressMessages.some((m) => /layer \d+\/2/.test(m)), 'conversion progress shows layers');
    const everythingShown = [...ui.logs, ...ui.infos, ...ui.progressMessages].join('\n');
    assert.ok(!everythingShown.includes(TOKEN), 'the token is never logged or shown');

    // A second model: the stored token is used, not asked for again.
    ui.dtype = 'int8';
    await downloadModelCommand(deps(ui, secrets));
    assert.equal(ui.tokenAsked, 1);
    assert.equal(ui.modelPath, join(work, 'models', 'facebook--layerskip-ext-tiny-int8'));

    // Asking again for an installed package offers to use it or reinstall it (no download unless asked).
    ui.dtype = 'fp16';
    await downloadModelCommand(deps(ui, secrets));
    assert.match(ui.infos.at(-1) ?? '', /already installed/);
    assert.equal(ui.modelPath, join(work, 'models', 'facebook--layerskip-ext-tiny-int8'), 'nothing switched by itself');
    const actions = ui.infoActions.at(-1) ?? [];
    assert.deepEqual(actions.map((a) => a.label), ['Use It', 'Reinstall']);
    await actions[1]?.run();
    assert.equal(ui.modelPath, packageDir, 'reinstalled and switched');

    // Installed Models: both listed with size and source; use one, then remove the one in use.
    let listed: InstalledPackage[] = [];
    ui.installedChoice = (models) => {
      listed = models;
      const fp16 = models.find((m) => m.name.endsWith('fp16'));
      return fp16 && { model: fp16, action: 'use' };
    };
    await installedModelsCommand(deps(ui, secrets));
    assert.equal(listed.length, 2);
    assert.ok(listed.every((m) => m.source === REPO && m.bytes > 0));
    assert.equal(ui.modelPath, packageDir);
    ui.installedChoice = (models) => {
      const fp16 = models.find((m) => m.name.endsWith('fp16'));
      return fp16 && { model: fp16, action: 'remove' };
    };
    await installedModelsCommand(deps(ui, secrets));
    assert.ok(!existsSync(packageDir));
    assert.equal(ui.modelPath, undefined, 'removing the model in use clears the setting');
  });

  void it('switch without reload: the running server loads the downloaded package when layerskip.modelPath changes', async () => {
    const session = await LspSession.start({ modelPath: await tinyModelPackage('codellama', 6), maxNewTokens: 8, ...UNTIMED });
    try {
      assert.equal((await session.waitForPhase('ready')).model?.numLayers, 6);
      const ui = new ScriptedUi();
      // What extension.ts does on a layerskip.* configuration change: send the settings to the running server.
      ui.setModelPath = async (dir) => {
        ui.modelPath = dir;
        await session.setSettings({ modelPath: dir ?? null });
      };
      const secrets = new MapSecrets();
      await secrets.store(TOKEN_SECRET_KEY, TOKEN);
      await downloadModelCommand(deps(ui, secrets));
      assert.deepEqual(ui.errors, []);
      const state = await session.waitForPhase('ready');
      assert.equal(state.model?.path, join(work, 'models', 'facebook--layerskip-ext-tiny-fp16'));
      assert.equal(state.model?.numLayers, 2, 'the downloaded 2-layer model replaced the 6-layer one');
      await session.open('file:///w/a.py', 'def add(a, b):\n    return ');
      await session.complete('file:///w/a.py', { line: 1, character: 11 });
      assert.ok((session.stats.at(-1)?.generatedTokens ?? 0) > 0, 'it completes with the new model');
    } finally {
      assert.equal(await session.close(), 0);
    }
  });

  void it('pending review: an error naming the situation with an Open Model Page button; nothing switched', async () => {
    const ui = new ScriptedUi();
    const secrets = new MapSecrets();
    await secrets.store(TOKEN_SECRET_KEY, 'hf_pendingReview000000000000');
    await downloadModelCommand(deps(ui, secrets));
    assert.equal(ui.tokenAsked, 0);
    assert.equal(ui.errors.length, 1);
    assert.match(ui.errors[0]?.message ?? '', /awaiting review/);
    assert.deepEqual(ui.errors[0]?.actions.map((a) => a.label), ['Open Model Page']);
    assert.equal(ui.modelPath, undefined);
  });

  void it('no token given: 401 gated error offers Set Token, which retries and succeeds', async () => {
    const ui = new ScriptedUi();
    ui.tokenAnswer = undefined; // dismissed the first prompt
    const secrets = new MapSecrets();
    await downloadModelCommand(deps(ui, secrets));
    assert.equal(ui.errors.length, 1);
    assert.match(ui.errors[0]?.message ?? '', /gated model/);
    const setToken = ui.errors[0]?.actions.find((a) => a.label === 'Set Token');
    assert.ok(setToken);
    ui.tokenAnswer = TOKEN;
    await setToken.run();
    assert.equal(ui.modelPath, join(work, 'models', 'facebook--layerskip-ext-tiny-fp16'));
    assert.equal(secrets.values.get(TOKEN_SECRET_KEY), TOKEN);
  });

  void it('cancel during the conversion: no package, no staging folder', async () => {
    const checkpoint = generateCheckpoint({ family: 'codellama', numLayers: 4, hiddenSize: 256, intermediateSize: 688, numHeads: 4 });
    hub.repos.set(REPO, repoFromDirectory(checkpoint.dir, { gated: 'manual' }));
    await rm(checkpoint.dir, { recursive: true, force: true });
    const ui = new ScriptedUi();
    ui.dtype = 'fp32';
    ui.cancelWhen = (message) => /layer|embedding/.test(message) && ui.progressTitles.length === 2;
    const secrets = new MapSecrets();
    await secrets.store(TOKEN_SECRET_KEY, TOKEN);
    await downloadModelCommand(deps(ui, secrets));
    assert.equal(ui.progressTitles.at(-1), `LayerSkip: converting ${REPO} to fp32`);
    assert.deepEqual(ui.errors, []);
    assert.match(ui.infos.at(-1) ?? '', /cancelled/);
    assert.equal(ui.modelPath, undefined);
    assert.deepEqual(await readdir(join(work, 'models')), [], 'no package and no staging folder');
  });

  void it('cancel from the progress notification: no package, no staging folder, a resumable-download note', async () => {
    const shard = Object.keys(checkpointRepo.files).find((path) => path.endsWith('.safetensors')) ?? '';
    hub.faults.stall = { path: shard, afterBytes: 3_000, times: 1 };
    const ui = new ScriptedUi();
    ui.cancelWhen = (message) => message.includes(shard);
    const secrets = new MapSecrets();
    await secrets.store(TOKEN_SECRET_KEY, TOKEN);
    await downloadModelCommand(deps(ui, secrets));
    assert.deepEqual(ui.errors, []);
    assert.match(ui.infos.at(-1) ?? '', /cancelled/);
    assert.equal(ui.modelPath, undefined);
    const left = existsSync(join(work, 'models')) ? await readdir(join(work, 'models')) : [];
    assert.deepEqual(left, []);
  });
});
