// `layerskip export-draft --model <hf-checkpoint> --exit-layer E --out DIR [--force]`
// Writes LayerSkip's early exit at E as a standalone Hugging Face Llama checkpoint (server/model/exportDraft.ts), a
// draft model for serving engines' draft-model speculative decoding (docs/team-server.md).
import { parseArgs } from 'node:util';
import { exportDraft } from '../model/exportDraft.js';

const USAGE =
  'usage: layerskip export-draft --model <hf-checkpoint-dir> --exit-layer E --out DIR [--force]\n' +
  '  The first E layers, the shared final norm and the LM head of a LayerSkip checkpoint as a Llama checkpoint of E\n' +
  '  layers (same tokenizer, config.json with num_hidden_layers = E, tensors in their own dtype): a draft model for\n' +
  "  vLLM's or llama.cpp's speculative decoding. For llama.cpp, convert it with llama.cpp's convert_hf_to_gguf.py.";

export const command = {
  summary: "export a LayerSkip checkpoint's early exit as a standalone draft model (Hugging Face format)",
  usage: USAGE,
  async run(args: string[]): Promise<void> {
    const { values } = parseArgs({
      args,
      options: { model: { type: 'string' }, 'exit-layer': { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean', default: false } },
    });
    if (!values.model || !values.out || values['exit-layer'] === undefined) throw new Error(`--model, --exit-layer and --out are required\n${USAGE}`);
    const exitLayer = Number(values['exit-layer']);
    const exported = exportDraft(values.model, exitLayer, values.out, { force: values.force });
    process.stdout.write(
      `wrote ${exported.dir}: layers [0, ${exported.exitLayer}) + final norm + LM head (${exported.tensors} tensors), ` +
        `config.json num_hidden_layers = ${exported.exitLayer}; copied ${exported.copiedFiles.join(', ') || 'no tokenizer files'}\n`,
    );
  },
};
