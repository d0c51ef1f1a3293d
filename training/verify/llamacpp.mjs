// The independent oracle: llama.cpp (node-llama-cpp's prebuilt CPU binary) running a GGUF (the original file or
// its float32 copy from dequantize_gguf.py).
//
//   node llamacpp.mjs <model.gguf> <request.json> <out-dir>
//
// request.json: { "tokenize": { "<name>": "<text>", ... },
//                 "logits":   [ { "name": "...", "tokens": [ids], "positions": [i, ...] } ],
//                 "greedy":   [ { "name": "...", "tokens": [ids], "steps": n } ] }
// Writes <out-dir>/result.json ({ tokenize: {name: ids}, logits: {name: {positions, vocab, file}},
// greedy: {name: {tokens, margins}} }, margins: the top-1 minus top-2 logit at each greedy step)
// and one <name>.f32 per logits case: float32 little-endian [positions.length, vocab], the raw logits after the
// token at each listed position. Setup: `npm install --omit=optional` in this folder (not a dependency of the extension).
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [modelPath, requestPath, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node llamacpp.mjs <model.gguf> <request.json> <out-dir>');
  process.exit(2);
}
const request = JSON.parse(readFileSync(requestPath, 'utf8'));
mkdirSync(outDir, { recursive: true });

// build: 'never' -> use the prebuilt binary or fail; nothing is compiled or downloaded.
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath });
const vocabSize = model.fileInfo.metadata.tokenizer.ggml.tokens.length;

/** A fresh context per case, so no state leaks between cases. F32 KV cache and no flash attention: the closest
 *  llama.cpp gets to plain float math (its quantized matmuls still round activations to 8 bits per block). */
async function withSequence(maxTokens, fn) {
  const context = await model.createContext({
    contextSize: Math.max(64, maxTokens + 8),
    batchSize: 512,
    threads: 1, // llama.cpp's spinning thread barrier is ~10x slower, not faster, on a busy 2-core machine
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
  });
  try {
    return await fn(context.getSequence());
  } finally {
    await context.dispose();
  }
}

/** Map<token, logit> (sorted by logit) -> dense Float32Array indexed by token id. */
function dense(logitsMap) {
  if (logitsMap.size !== vocabSize) throw new Error(`llama.cpp returned ${logitsMap.size} logits, vocab ${vocabSize}`);
  const out = new Float32Array(vocabSize);
  for (const [token, logit] of logitsMap) out[token] = logit;
  return out;
}
/** The greedy token and its lead over the runner-up (a small lead means a near-tie that rounding can flip).
 *  logitsMap: the two largest logits, sorted by llama.cpp (highest first). */
function top2(logitsMap) {
  const [[token, best], [, second]] = [...logitsMap.entries()];
  return { token, margin: best - second };
}

const result = { tokenize: {}, logits: {}, greedy: {} };

for (const [name, text] of Object.entries(request.tokenize ?? {})) {
  // specialTokens=true: "<|endoftext|>" in the text is the control token, as in a Hugging Face tokenizer.
  result.tokenize[name] = Array.from(model.tokenize(text, true));
}

for (const { name, tokens, positions } of request.logits ?? []) {
  const wanted = new Set(positions);
  const rows = await withSequence(tokens.length, async (sequence) => {
    const input = tokens.map((t, i) => (wanted.has(i) ? [t, { generateNext: { logits: true } }] : t));
    const out = await sequence.controlledEvaluate(input);
    return positions.map((i) => dense(out[i].next.logits));
  });
  const file = `${name}.f32`;
  const buffer = new Float32Array(rows.length * rows[0].length);
  rows.forEach((row, r) => buffer.set(row, r * row.length));
  writeFileSync(join(outDir, file), Buffer.from(buffer.buffer));
  result.logits[name] = { positions, vocab: rows[0].length, file };
}

for (const { name, tokens, steps } of request.greedy ?? []) {
  result.greedy[name] = await withSequence(tokens.length + steps, async (sequence) => {
    const generated = { tokens: [], margins: [] };
    let input = tokens;
    for (let s = 0; s < steps; s++) {
      const last = input.length - 1;
      const out = await sequence.controlledEvaluate(
        input.map((t, i) => (i === last ? [t, { generateNext: { logits: { filter: { tokens: [], includeTop: 2 } } } }] : t)),
      );
      const { token, margin } = top2(out[last].next.logits);
      generated.tokens.push(token);
      generated.margins.push(margin);
      input = [token];
    }
    return generated;
  });
}

writeFileSync(join(outDir, 'result.json'), JSON.stringify(result));
await model.dispose();
await llama.dispose();
