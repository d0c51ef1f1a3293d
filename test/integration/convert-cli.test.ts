// The real `layerskip` CLI (convert, info, logits) on generated checkpoints, including every bad input the
// converter must refuse with a clear message and without leaving a half-written package behind.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { LogitsOutput } from '../../server/cli/logits.js';
import { convertCheckpoint } from '../../server/model/convert.js';
import { logitsAfterLayer, ReferenceBackend } from '../../server/model/referenceBackend.js';
import { generateCheckpoint, type CheckpointOptions } from '../support/checkpoints.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', join(__dirname, '../../server/cli.ts')];

async function layerskip(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function workDir(): string {
  return mkdtempSync(join(tmpdir(), 'convert-cli-'));
}

void test('convert (sharded bf16 CodeLlama) -> info -> logits matches the reference forward', async () => {
  const dir = workDir();
  const checkpoint = generateCheckpoint({ family: 'codellama', dir: join(dir, 'ckpt'), numLayers: 3, shards: 3 });
  const pkg = join(dir, 'pkg');
  const converted = await layerskip('convert', checkpoint.dir, pkg, '--dtype', 'fp32');
  assert.equal(converted.code, 0, converted.stderr);
  assert.match(converted.stderr, /layer 3\/3/);
  assert.deepEqual(readdirSync(dir).sort(), ['ckpt', 'pkg']);

  const info = await layerskip('info', pkg);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /layers\s+3 /);
  assert.match(info.stdout, /fill-in-middle ▁<PRE> ▁<SUF> ▁<MID> ▁<EOT>/);

  const tokens = [1, 40, 7, 268];
  const out = await layerskip('logits', '--model', pkg, '--tokens', tokens.join(','), '--exit-layer', '2', '--top-k', '3');
  assert.equal(out.code, 0, out.stderr);
  const result = JSON.parse(out.stdout) as LogitsOutput;
  const reference = await logitsAfterLayer(ReferenceBackend.fromCheckpoint(checkpoint.dir), tokens, 2);
  const vocab = checkpoint.config.vocabSize;
  assert.equal(result.exitLayer, 2);
  result.positions.forEach((position, p) => {
    const row = reference.subarray(p * vocab, (p + 1) * vocab);
    const expectedIds = [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, 3);
    assert.deepEqual(position.top.map((t) => t.id), expectedIds);
    for (const t of position.top) assert.ok(Math.abs(t.logit - row[t.id]) <= 1e-4 * Math.abs(row[t.id]) + 1e-5);
  });
});

/** Runs convert on a broken checkpoint: it must fail with `message` and leave the parent folder as it was. */
async function expectRefusal(options: CheckpointOptions, message: RegExp, breakIt?: (dir: string) => void) {
  const dir = workDir();
  const checkpoint = generateCheckpoint({ numLayers: 2, ...options, dir: join(dir, 'ckpt') });
  breakIt?.(checkpoint.dir);
  const result = await layerskip('convert', checkpoint.dir, join(dir, 'pkg'), '--dtype', 'int4');
  assert.equal(result.code, 1, result.stdout);
  assert.match(result.stderr, message);
  assert.deepEqual(readdirSync(dir), ['ckpt'], 'nothing written next to the checkpoint');
}

void test('refuses an unsupported architecture', () =>
  expectRefusal(
    { family: 'llama2', configOverrides: { model_type: 'mistral', architectures: ['MistralForCausalLM'] } },
    /unsupported architecture: model_type "mistral"/,
  ));

void test('refuses a checkpoint with a missing tensor, naming it', () =>
  expectRefusal(
    { family: 'llama3', omitTensors: ['model.layers.1.mlp.up_proj.weight'] },
    /missing tensor "model\.layers\.1\.mlp\.up_proj\.weight"/,
  ));

void test('refuses an untied checkpoint without lm_head.weight', () =>
  expectRefusal({ family: 'llama3', omitTensors: ['lm_head.weight'] }, /missing tensor "lm_head\.weight"/));

void test('refuses a truncated safetensors file', () =>
  expectRefusal({ family: 'llama3.2' }, /truncated safetensors file: tensor ".*" ends at byte/, (dir) => {
    const file = join(dir, 'model.safetensors');
    truncateSync(file, statSync(file).size - 100);
  }));

void test('refuses a corrupt safetensors header', () =>
  expectRefusal({ family: 'llama2' }, /corrupt safetensors file \(header is not JSON\)/, (dir) => {
    const fd = openSync(join(dir, 'model.safetensors'), 'r+');
    writeSync(fd, Buffer.from('}}}}'), 0, 4, 8);
    closeSync(fd);
  }));

void test('refuses a header length larger than the file', () =>
  expectRefusal({ family: 'llama2' }, /truncated or corrupt safetensors file \(header length/, (dir) => {
    const fd = openSync(join(dir, 'model.safetensors'), 'r+');
    writeSync(fd, Buffer.from([0, 0, 0, 0, 1, 0, 0, 0]), 0, 8, 0);
    closeSync(fd);
  }));

void test('refuses a missing shard', () =>
  expectRefusal({ family: 'llama3', shards: 2 }, /shard .*model-00002-of-00002\.safetensors listed in .* is missing/, (dir) =>
    rmSync(join(dir, 'model-00002-of-00002.safetensors')),
  ));

void test('refuses rope scaling it cannot honour', () =>
  expectRefusal(
    { family: 'llama3', configOverrides: { rope_scaling: { type: 'dynamic', factor: 2 } } },
    /rope_scaling type "dynamic" is not supported/,
  ));

void test('refuses heads that do not group evenly', () =>
  expectRefusal({ family: 'llama3', configOverrides: { num_key_value_heads: 3 } }, /not a multiple of num_key_value_heads 3/));

void test('refuses a tensor whose shape contradicts config.json', () =>
  expectRefusal({ family: 'llama2', configOverrides: { intermediate_size: 100 } }, /has shape \[.*\], config\.json implies/));

void test('refuses a checkpoint without tokenizer.json', () =>
  expectRefusal({ family: 'llama2' }, /no tokenizer\.json/, (dir) => rmSync(join(dir, 'tokenizer.json'))));

void test('refuses a folder without config.json, and bad arguments', async () => {
  await expectRefusal({ family: 'llama2' }, /no config\.json/, (dir) => rmSync(join(dir, 'config.json')));
  const badDtype = await layerskip('convert', 'a', 'b', '--dtype', 'int3');
  assert.match(badDtype.stderr, /--dtype must be one of fp32, fp16, int8, int4/);
  const badEmbeddingDtype = await layerskip('convert', 'a', 'b', '--dtype', 'int4', '--embedding-dtype', 'q8');
  assert.match(badEmbeddingDtype.stderr, /--embedding-dtype must be one of fp32, fp16, int8, int4/);
  const badTokens = await layerskip('logits', '--model', 'x', '--tokens', '1,a');
  assert.match(badTokens.stderr, /--tokens: "a" is not a token id/);
  const notPackage = await layerskip('info', workDir());
  assert.match(notPackage.stderr, /no manifest\.json/);
});

void test('a failure in the middle of writing removes the partial package', async () => {
  const dir = workDir();
  const checkpoint = generateCheckpoint({ family: 'llama3', numLayers: 3, dir: join(dir, 'ckpt') });
  const failAtLayer2 = (message: string): void => {
    if (message.startsWith('layer 2/')) throw new Error('disk full (simulated)');
  };
  await assert.rejects(convertCheckpoint(checkpoint.dir, join(dir, 'pkg'), { dtype: 'fp16', onProgress: failAtLayer2 }), /disk full/);
  assert.deepEqual(readdirSync(dir), ['ckpt']);
  // an abort between layers (what Ctrl-C does in the CLI) also leaves nothing
  const abort = new AbortController();
  const abortAtLayer2 = (message: string): void => {
    if (message.startsWith('layer 2/')) abort.abort(new Error('interrupted'));
  };
  await assert.rejects(
    convertCheckpoint(checkpoint.dir, join(dir, 'pkg'), { dtype: 'fp16', onProgress: abortAtLayer2, signal: abort.signal }),
    /interrupted/,
  );
  assert.deepEqual(readdirSync(dir), ['ckpt']);
  // an existing package is kept unless --force
  writeFileSync(join(dir, 'pkg'), 'not mine');
  await assert.rejects(convertCheckpoint(checkpoint.dir, join(dir, 'pkg'), { dtype: 'fp16' }), /already exists \(use --force/);
  assert.ok(existsSync(join(dir, 'pkg')));
});

void test('Ctrl-C during convert removes the partial package', async () => {
  const dir = workDir();
  const checkpoint = generateCheckpoint({ family: 'llama2', numLayers: 48, hiddenSize: 256, dir: join(dir, 'ckpt') }); // seconds of work to interrupt
  // the bundled CLI (the integration layer builds it first): under tsx, tsx's own SIGINT relay may end the process
  // before the CLI has said what it did
  const bundledCli = join(__dirname, '../../dist/cli.js');
  const child = spawn(process.execPath, [bundledCli, 'convert', checkpoint.dir, join(dir, 'pkg'), '--dtype', 'int4']);
  let stderr = '';
  let interrupted = false;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.includes('layer 1/48') && !interrupted) interrupted = child.kill('SIGINT'); // once: a second Ctrl-C would find no handler
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 1, stderr);
  assert.match(stderr, /interrupted; nothing was written/);
  assert.doesNotMatch(stderr, /layer 48\/48/);
  assert.deepEqual(readdirSync(dir), ['ckpt']);
});

void test("recommended E and d: the checkpoint's layerskip.json, overridden by --exit-layer / --draft", async () => {
  const dir = workDir();
  const checkpoint = generateCheckpoint({ family: 'llama3', dir: join(dir, 'ckpt'), numLayers: 4 });
  writeFileSync(join(checkpoint.dir, 'layerskip.json'), JSON.stringify({ recommendedExitLayer: 3, recommendedDraftLength: 2 }));
  const fromFile = await convertCheckpoint(checkpoint.dir, join(dir, 'a'), { dtype: 'fp32' });
  assert.deepEqual(fromFile.layerskip, { recommendedExitLayer: 3, recommendedDraftLength: 2 });

  const converted = await layerskip('convert', checkpoint.dir, join(dir, 'b'), '--dtype', 'fp32', '--exit-layer', '1', '--draft', '5');
  assert.equal(converted.code, 0, converted.stderr);
  const info = await layerskip('info', join(dir, 'b'));
  assert.match(info.stdout, /exit layer 1, draft length 5/);

  writeFileSync(join(checkpoint.dir, 'layerskip.json'), JSON.stringify({ recommendedExitLayer: 9 }));
  await assert.rejects(convertCheckpoint(checkpoint.dir, join(dir, 'c'), { dtype: 'fp32' }), /recommended exit layer 9 must be in \[1, 4\]/);
  assert.equal(existsSync(join(dir, 'c')), false);
});
