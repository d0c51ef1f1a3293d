// The GGUF import path (training/import/gguf_to_hf.py, then `layerskip convert --dtype int4`) on a model that is not
// the bundled one, checked by llama.cpp itself: a random GGUF of another shape (3 layers, GQA 8/2 with head size 32,
// rope theta 500,000, a padded vocabulary; training/import/random_gguf.py, which bench:peer-1b uses for the 1B shape)
// goes through the same import as the bundled model, and the package's logits after every prompt position must be
// llama.cpp's on the GGUF (llama-cpp-python, test/support/llamacpp_logits.py). Its weights are 3x Llama's usual scale
// (--weight-std 0.06), so that attention is sharp enough for a wrong weight layout (q/k rotary rows, a transposed
// matrix, a lost Q4_1 bias or scale) to change which tokens lead, far beyond the two engines' rounding.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { LogitsOutput, TopLogit } from '../../server/cli/logits.js';
import { BUNDLED_GGUF, llamaPython } from '../support/llamaServer.js';
import { repoRoot } from './lsp-harness.js';

const importPython = join(repoRoot, 'training', '.venv-import', 'bin', 'python');
const cli = join(repoRoot, 'dist', 'cli.js');
const TOP_K = 20;
// Both engines quantize activations to int8 blocks of 32, rounding and summing in their own ways: measured up to 1.7%
// of a position's top logit apart, 18-20 of the top 20 shared. With q/k's rotary rows left in llama.cpp's order
// (a wrong import), 6 or fewer of the top 20 were shared.
const TOLERANCE = 0.03;
const SHARED = 15;

void describe('GGUF import of another shape (llama.cpp as the oracle)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'layerskip-gguf-import-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  void it("a random GQA model's package gives llama.cpp's logits at every position", () => {
    const gguf = join(dir, 'random.gguf');
    const run = (command: string, args: string[]): string => execFileSync(command, args, { encoding: 'utf8', cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    run(importPython, [
      'training/import/random_gguf.py', '--template', BUNDLED_GGUF, '--out', gguf,
      '--layers', '3', '--hidden', '256', '--intermediate', '640', '--heads', '8', '--kv-heads', '2', '--vocab', '49248', '--seed', '7', '--weight-std', '0.06',
    ]);
    run(importPython, ['training/import/gguf_to_hf.py', '--gguf', gguf, '--out', join(dir, 'hf')]);
    run(process.execPath, [cli, 'convert', join(dir, 'hf'), join(dir, 'package'), '--dtype', 'int4', '--embedding-dtype', 'int8']);

    const tokens = [1604, 275, 24, 104, 727, 198, 365, 2030, 1012, 284, 30, 46];
    writeFileSync(join(dir, 'request.json'), JSON.stringify({ tokens, top_k: TOP_K }));
    const oracle = (JSON.parse(run(llamaPython(), [join(repoRoot, 'test', 'support', 'llamacpp_logits.py'), gguf, join(dir, 'request.json')])) as { positions: TopLogit[][] }).positions;
    const engine = (JSON.parse(run(process.execPath, [cli, 'logits', '--model', join(dir, 'package'), '--tokens', tokens.join(','), '--top-k', String(TOP_K)])) as LogitsOutput).positions.map(
      (p) => p.top,
    );
    assert.equal(engine.length, tokens.length);
    assert.equal(oracle.length, tokens.length);

    // differences relative to each position's top logit (the two engines round activations alike, not identically)
    const relative: number[] = [];
    for (const [p, expected] of oracle.entries()) {
      const got = new Map(engine[p].map((l) => [l.id, l.logit]));
      // near the top-k boundary a token may sit in one list and not the other; most must be shared
      const shared = expected.filter((l) => got.has(l.id));
      assert.ok(shared.length >= SHARED, `position ${p}: only ${shared.length} of llama.cpp's top ${TOP_K} are the package's`);
      const scale = Math.abs(expected[0].logit);
      relative.push(Math.max(Math.abs(engine[p][0].logit - expected[0].logit), ...shared.map((l) => Math.abs(got.get(l.id)! - l.logit))) / scale);
    }
    assert.ok(Math.max(...relative) <= TOLERANCE, `logits differ from llama.cpp's by up to ${Math.max(...relative)} of the top logit (tolerance ${TOLERANCE})`);
  });
});
