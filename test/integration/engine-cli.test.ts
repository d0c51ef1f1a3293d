// `layerskip generate` through the real CLI on a converted package: streamed text, stats, JSON, clear errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import type { GenerationResult } from '../../server/engine/engine.js';
import { convertCheckpoint } from '../../server/model/convert.js';
import { generateCheckpoint } from '../support/checkpoints.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', join(__dirname, '../../server/cli.ts')];

async function layerskip(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [...CLI, ...args], { encoding: 'utf8' });
}

void describe('layerskip generate', () => {
  let model = '';
  let promptFile = '';

  before(async () => {
    const root = mkdtempSync(join(tmpdir(), 'engine-cli-'));
    const checkpoint = generateCheckpoint({ family: 'llama2', numLayers: 4, seed: 9, dir: join(root, 'ckpt') });
    model = join(root, 'pkg');
    promptFile = join(root, 'prompt.py');
    writeFileSync(promptFile, 'def fibonacci(n):\n    if n < 2:\n        return n\n');
    await convertCheckpoint(checkpoint.dir, model, { dtype: 'fp16' });
  });

  void it('streams the text to stdout and the stats to stderr', async () => {
    const { stdout, stderr } = await layerskip(['generate', '--model', model, '--prompt', 'int main(', '--mode', 'self-speculative', '--exit-layer', '2', '--draft', '3', '--max-tokens', '12']);
    const json = await layerskip(['generate', '--model', model, '--prompt', 'int main(', '--mode', 'full', '--max-tokens', '12', '--json']);
    const full = JSON.parse(json.stdout) as GenerationResult;
    assert.equal(stdout, full.text, 'self-speculative text == full text');
    assert.match(stderr, /mode +self-speculative \(E=2, d=3\) on cpu/);
    assert.match(stderr, /drafted \/ accepted \d+ \/ \d+/);
    assert.match(stderr, /speedup bound/);
    assert.equal(full.stats.mode, 'full');
  });

  void it('samples reproducibly with a seed', async () => {
    const args = ['generate', '--model', model, '--prompt-file', promptFile, '--max-tokens', '8', '--temperature', '0.8', '--top-k', '20', '--top-p', '0.9', '--json'];
    const first = JSON.parse((await layerskip([...args, '--seed', '3'])).stdout) as GenerationResult;
    const again = JSON.parse((await layerskip([...args, '--seed', '3'])).stdout) as GenerationResult;
    assert.deepEqual(first.tokens, again.tokens);
  });

  void it('refuses bad arguments with a message', async () => {
    await assert.rejects(layerskip(['generate', '--model', model]), /give exactly one of --prompt and --prompt-file/);
    await assert.rejects(layerskip(['generate', '--model', model, '--prompt', 'x', '--mode', 'fast']), /--mode must be one of self-speculative, early-exit, full/);
    await assert.rejects(layerskip(['generate', '--model', model, '--prompt', 'x', '--draft', 'many']), /--draft: "many" is not a number/);
    await assert.rejects(layerskip(['generate', '--model', model, '--prompt', 'x', '--exit-layer', '4']), /exitLayer must be an integer in \[1, 3\]/);
  });
});
