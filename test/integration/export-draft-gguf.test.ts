// `layerskip export-draft` from a GGUF, checked by llama.cpp itself (llama-cpp-python, test/support/llamacpp_draft.py):
// the exported draft of the bundled model's original GGUF runs as llama.cpp's draft model and every token of the
// output is the target's own greedy token (llama.cpp rounds a row differently in a batch than alone, so plain decoding
// may take the other side of a near-tie: measured gaps 0.04-0.14 logits), and the draft's logits are the package's
// early-exit logits at the same E (the package stores the same Q4_1 weights; the engines' kernels round differently).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PackageTokenizer } from '../../server/engine/tokenizer.js';
import { readGgufHeader } from '../../server/model/ggufDraft.js';
import type { LogitsOutput, TopLogit } from '../../server/cli/logits.js';
import { BUNDLED_GGUF, BUNDLED_PACKAGE, llamaPython } from '../support/llamaServer.js';
import { repoRoot } from './lsp-harness.js';

const EXIT_LAYER = 20;
const cli = join(repoRoot, 'dist', 'cli.js');

void describe('export-draft --model target.gguf (llama.cpp draft model)', () => {
  void it("writes the first E blocks; llama.cpp drafts with it and its output is the target's greedy output; its logits are the early exit's", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'layerskip-gguf-draft-'));
    const draft = join(dir, 'draft.gguf');
    const printed = execFileSync(process.execPath, [cli, 'export-draft', '--model', BUNDLED_GGUF, '--exit-layer', String(EXIT_LAYER), '--out', draft], { encoding: 'utf8' });
    assert.match(printed, /blocks \[0, 20\) of 30/);
    const target = readGgufHeader(BUNDLED_GGUF);
    const exported = readGgufHeader(draft);
    const belowExit = (name: string): boolean => Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1) < EXIT_LAYER;
    assert.deepEqual(
      exported.tensors.map((tensor) => tensor.name),
      target.tensors.map((tensor) => tensor.name).filter(belowExit),
      'every non-block tensor and the blocks below E, in order',
    );
    assert.equal(exported.metadata.find((entry) => entry.key === 'llama.block_count')?.value, EXIT_LAYER);

    const codec = await PackageTokenizer.load(join(BUNDLED_PACKAGE, 'tokenizer.json'), join(BUNDLED_PACKAGE, 'tokenizer_config.json'));
    const code = 'import os\n\ndef list_python_files(root):\n    """Every .py file under root."""\n    found = []\n    for dirpath, _, names in os.walk(root):\n';
    const logitTokens = codec.encode(code);
    const request = {
      prompts: [code, 'def fibonacci(n):\n    if n < 2:\n        return n\n    return ', '#include <stdio.h>\n\nint main(void) {\n    for (int i = 0; i < 10; i++) {\n'],
      max_tokens: 40,
      draft_tokens: 4,
      logit_tokens: logitTokens,
      top_k: 5,
    };
    const requestFile = join(dir, 'request.json');
    writeFileSync(requestFile, JSON.stringify(request));
    const script = join(repoRoot, 'test', 'support', 'llamacpp_draft.py');
    const result = JSON.parse(execFileSync(llamaPython(), [script, BUNDLED_GGUF, draft, requestFile], { encoding: 'utf8', maxBuffer: 64 << 20 })) as {
      runs: { plain: number[]; speculative: number[]; argmax: number; max_margin: number; divergence: { index: number; plain: TopLogit; speculative: TopLogit } | null }[];
      drafted: number;
      draft_logits: TopLogit[][];
    };
    assert.ok(result.drafted > 0, 'llama.cpp drafted with the exported model');
    for (const [i, run] of result.runs.entries()) {
      t.diagnostic(`prompt ${i}: ${run.speculative.length} tokens, ${run.argmax} the target's top token, largest margin ${run.max_margin.toFixed(3)}; ` +
        (run.divergence === null ? 'identical to plain decoding' : `differs from plain decoding from token ${run.divergence.index} (logits ${run.divergence.plain.logit.toFixed(3)} / ${run.divergence.speculative.logit.toFixed(3)})`));
      assert.ok(run.speculative.length > 0);
      // Verified drafts leave the target's greedy choice: every token is the target's top one (or a near-tie,
      // which llama.cpp's batched and single-row kernels may round either way; a wrong token would lose by far more).
      assert.ok(run.max_margin < 0.25, `prompt ${i}: a speculative token ${run.max_margin} below the target's top logit`);
      assert.ok(run.argmax >= run.speculative.length * 0.9, `prompt ${i}: ${run.argmax} of ${run.speculative.length} tokens are the target's top one`);
      if (run.divergence !== null) {
        const gap = Math.abs(run.divergence.plain.logit - run.divergence.speculative.logit);
        assert.ok(gap < 0.25, `prompt ${i}: plain and speculative decoding part at a near-tie only (gap ${gap.toFixed(3)})`);
      }
    }

    const ours = JSON.parse(
      execFileSync(process.execPath, [cli, 'logits', '--model', BUNDLED_PACKAGE, '--tokens', logitTokens.join(','), '--exit-layer', String(EXIT_LAYER), '--top-k', '5'], { encoding: 'utf8', maxBuffer: 64 << 20 }),
    ) as LogitsOutput;
    let sameTop = 0;
    const differences: number[] = [];
    for (const [i, position] of ours.positions.entries()) {
      const theirs = result.draft_logits[i];
      if (theirs[0].id === position.top[0].id) sameTop++;
      // the package's top token, scored by llama.cpp (when in its top 5): the same logit up to the kernels' rounding
      const scored = theirs.find((entry) => entry.id === position.top[0].id);
      if (scored !== undefined) differences.push(Math.abs(scored.logit - position.top[0].logit) / Math.max(1, Math.abs(position.top[0].logit)));
    }
    const n = ours.positions.length;
    const mean = differences.reduce((sum, d) => sum + d, 0) / differences.length;
    const worst = Math.max(...differences);
    t.diagnostic(`${n} positions: same top-1 at ${sameTop}; the package's top-1 logit vs llama.cpp's: mean relative difference ${(mean * 100).toFixed(2)}%, largest ${(worst * 100).toFixed(2)}%`);
    assert.ok(sameTop >= n * 0.9, `top-1 agrees at ${sameTop} of ${n} positions`);
    // a wrong layer count or tensor would be off by whole logits everywhere; rounding is a percent or two at most
    assert.ok(differences.length >= n * 0.9 && mean < 0.01 && worst < 0.05, `logits differ by ${(mean * 100).toFixed(2)}% on average, ${(worst * 100).toFixed(2)}% at most`);
  });
});
