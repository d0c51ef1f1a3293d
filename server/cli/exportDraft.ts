// `layerskip export-draft --model <hf-checkpoint | target.gguf> --exit-layer E --out DIR|FILE.gguf [--force]`
// Writes LayerSkip's early exit at E as a standalone draft model for serving engines' draft-model speculative
// decoding (docs/team-server.md): from a Hugging Face checkpoint, a Llama checkpoint of E layers
// (server/model/exportDraft.ts); from a GGUF, a GGUF of its first E blocks for llama.cpp (server/model/ggufDraft.ts).
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { exportDraft } from '../model/exportDraft.js';
import { exportGgufDraft } from '../model/ggufDraft.js';

const USAGE =
  'usage: layerskip export-draft --model <hf-checkpoint-dir | target.gguf> --exit-layer E --out DIR|FILE.gguf [--force]\n' +
  '  The first E layers, the shared final norm and the LM head of a LayerSkip model as a model of E layers: a draft\n' +
  "  model for vLLM's or llama.cpp's speculative decoding.\n" +
  '  From a Hugging Face checkpoint folder: a Llama checkpoint in DIR (same tokenizer, config.json with\n' +
  '  num_hidden_layers = E, tensors in their own dtype).\n' +
  '  From a .gguf file (the target llama.cpp serves): a GGUF with its first E blocks copied byte for byte in their\n' +
  '  own quantization and block_count = E, written to FILE.gguf (or DIR/<name>-draft-E<E>.gguf): llama-server -m\n' +
  '  target.gguf -md draft.gguf. (A Hugging Face checkpoint becomes a target GGUF with llama.cpp\'s convert_hf_to_gguf.py.)';

export const command = {
  summary: "export a LayerSkip model's early exit as a standalone draft model (Hugging Face folder or GGUF)",
  usage: USAGE,
  async run(args: string[]): Promise<void> {
    const { values } = parseArgs({
      args,
      options: { model: { type: 'string' }, 'exit-layer': { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean', default: false } },
    });
    if (!values.model || !values.out || values['exit-layer'] === undefined) throw new Error(`--model, --exit-layer and --out are required\n${USAGE}`);
    const exitLayer = Number(values['exit-layer']);
    if (values.model.endsWith('.gguf') && existsSync(values.model) && statSync(values.model).isFile()) {
      const out = values.out.endsWith('.gguf') ? values.out : join(values.out, `${basename(values.model, '.gguf')}-draft-E${exitLayer}.gguf`);
      const exported = exportGgufDraft(values.model, exitLayer, out, { force: values.force });
      process.stdout.write(
        `wrote ${exported.file}: blocks [0, ${exported.exitLayer}) of ${exported.numLayers} + final norm + output head ` +
          `(${exported.tensors} tensors, ${(exported.bytes / 2 ** 20).toFixed(1)} MiB), ${exported.architecture}.block_count = ${exported.exitLayer}\n`,
      );
      return;
    }
    const exported = exportDraft(values.model, exitLayer, values.out, { force: values.force });
    process.stdout.write(
      `wrote ${exported.dir}: layers [0, ${exported.exitLayer}) + final norm + LM head (${exported.tensors} tensors), ` +
        `config.json num_hidden_layers = ${exported.exitLayer}; copied ${exported.copiedFiles.join(', ') || 'no tokenizer files'}\n`,
    );
  },
};
