// `layerskip export-draft` from a GGUF, checked by llama.cpp itself (llama-cpp-python, test/support/llamacpp_draft.py):
// the exported draft of the bundled model's original GGUF runs as llama.cpp's draft model with greedy output
// identical to the target alone, and its logits are the package's early-exit logits at the same E (the package
// stores the same Q4_1 weights; the two engines' kernels round differently, hence a tolerance).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PackageTokenizer } from '../../server/engine/tokenizer.js';
import { readGgufHeader } from '../../server/model/ggufDraft.js';
import { BUNDLED_GGUF, BUNDLED_PACKAGE, llamaPython } from '../support/llamaServer.js';
import { repoRoot } from './lsp-harness.js';

const EXIT_LAYER = 20;
const cli = join(repoRoot, 'dist', 'cli.js');

interface Top {
  id: number;
  logit: number;
}

void describe('export-draft --model target.gguf (llama.cpp draft model)', () => {
  void it('writes the first E blocks; llama.cpp drafts with it and its greedy output is the target\'s; its logits are the early exit\'s', async (t) => {
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
      plain: string[];
      speculative: string[];
      drafted: number;
      draft_logits: Top[][];
    };
    assert.deepEqual(result.speculative, result.plain, "drafts verified by the target leave the target's greedy output unchanged");
    assert.ok(result.plain.every((text) => text.length > 0));
    assert.ok(result.drafted > 0, 'llama.cpp drafted with the exported model');

    const ours = JSON.parse(
      execFileSync(process.execPath, [cli, 'logits', '--model', BUNDLED_PACKAGE, '--tokens', logitTokens.join(','), '--exit-layer', String(EXIT_LAYER), '--top-k', '5'], { encoding: 'utf8', maxBuffer: 64 << 20 }),
    ) as { positions: { top: Top[] }[] };
    let sameTop = 0;
    let worst = 0;
    for (const [i, position] of ours.positions.entries()) {
      const theirs = result.draft_logits[i];
      if (theirs[0].id === position.top[0].id) sameTop++;
      // the package's top token, scored by llama.cpp (when in its top 5): the same logit up to the kernels' rounding
      const scored = theirs.find((entry) => entry.id === position.top[0].id);
      if (scored !== undefined) worst = Math.max(worst, Math.abs(scored.logit - position.top[0].logit));
    }
    const n = ours.positions.length;
    t.diagnostic(`${n} positions: same top-1 at ${sameTop}; largest |logit difference| of the package's top-1 ${worst.toFixed(3)}`);
    assert.ok(sameTop >= n * 0.9, `top-1 agrees at ${sameTop} of ${n} positions`);
    assert.ok(worst < 0.5, `top-1 logits differ by at most ${worst.toFixed(3)}`);
  });
});
