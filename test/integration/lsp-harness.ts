// Integration-test support: the real server over stdio (the LSP client session lives in server/bench/replayClient.ts,
// shared with the replay and storm benchmarks) and tiny random model packages made by the real converter.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FIXED_DECODING, LspSession as Session } from '../../server/bench/replayClient.js';
import { convertCheckpoint } from '../../server/model/convert.js';
import { DEFAULT_SETTINGS, type ServerSettings } from '../../server/protocol.js';
import { generateCheckpoint, type Family } from '../support/checkpoints.js';

export { textOf } from '../../server/bench/replayClient.js';

export const repoRoot = resolve(__dirname, '..', '..');
export const serverScript = join(repoRoot, 'dist', 'server.js');

const packages = new Map<string, Promise<string>>();

/** A converted random model package: codellama has FIM tokens, llama3 has none (prefix-only prompts). */
export function tinyModelPackage(family: Family = 'codellama', numLayers = 6): Promise<string> {
  const key = `${family}-${numLayers}`;
  let dir = packages.get(key);
  if (dir === undefined) {
    dir = (async () => {
      const root = mkdtempSync(join(tmpdir(), 'layerskip-lsp-'));
      // Quiet late layers: early exits mostly agree with the full model, so drafts get accepted as on a trained one.
      const checkpoint = generateCheckpoint({ family, numLayers, hiddenSize: 64, dtype: 'F32', seed: 11, quietLayers: { fromLayer: 2, scale: 0.05 } });
      const out = join(root, 'package');
      await convertCheckpoint(checkpoint.dir, out, { dtype: 'fp32' });
      return out;
    })();
    packages.set(key, dir);
  }
  return dir;
}

/** No time budget: what a test's completions hold must not depend on the machine's speed. */
export const UNTIMED: Pick<ServerSettings, 'engine'> = { engine: { ...DEFAULT_SETTINGS.engine, timeBudgetMs: null } };

/** Sessions start in FIXED_DECODING unless `settings` say otherwise; `storagePath` keeps calibrations out of the user's cache. */
export const LspSession = {
  start: (
    settings: Partial<ServerSettings>,
    clientProvidesInlineCompletion = false,
    storagePath = mkdtempSync(join(tmpdir(), 'layerskip-storage-')),
    remoteApiKey?: string,
  ): Promise<Session> => Session.start(serverScript, { ...FIXED_DECODING, ...settings }, clientProvidesInlineCompletion, storagePath, remoteApiKey),
};
export type LspSession = Session;
