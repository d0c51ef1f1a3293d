// `layerskip info <package> [--json]`: what a model package holds.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readManifest } from '../model/manifest.js';

const USAGE = 'usage: layerskip info <package-dir> [--json]';

export const command = {
  summary: 'describe a LayerSkip model package',
  usage: USAGE,
  async run(args: string[]): Promise<void> {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
    if (positionals.length !== 1) throw new Error(USAGE);
    const dir = positionals[0];
    const manifest = readManifest(dir);
    if (values.json) {
      process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
      return;
    }
    const c = manifest.config;
    const weightsMiB = statSync(join(dir, manifest.weights)).size / 2 ** 20;
    const rope = c.ropeScaling ? `${c.ropeTheta}, llama3 scaling x${c.ropeScaling.factor}` : String(c.ropeTheta);
    const fim = manifest.tokenizer.fim;
    const lines = [
      `package        ${dir} (format ${manifest.format} v${manifest.formatVersion})`,
      `source         ${manifest.source.checkpoint}, converted ${manifest.source.convertedAt}`,
      `dtype          ${manifest.dtype}${manifest.activations === 'int8' ? ' (int8 activations)' : ''}` +
        `${manifest.embedding.dtype === manifest.dtype ? '' : `, embedding/LM head ${manifest.embedding.dtype}`}, weights.bin ${weightsMiB.toFixed(1)} MiB`,
      `layers         ${c.numLayers} (hidden ${c.hiddenSize}, intermediate ${c.intermediateSize})`,
      `attention      ${c.numHeads} heads, ${c.numKvHeads} kv heads, head_dim ${c.headDim}, rope_theta ${rope}`,
      `vocabulary     ${c.vocabSize}, ${c.tieWordEmbeddings ? 'tied' : 'untied'} embeddings, bos ${c.bosTokenId}, eos ${c.eosTokenIds.join(',')}`,
      `fill-in-middle ${fim ? `${fim.prefix} ${fim.suffix} ${fim.middle} ${fim.eot}` : 'none'}`,
      `layerskip      exit layer ${manifest.layerskip.recommendedExitLayer}, draft length ${manifest.layerskip.recommendedDraftLength}`,
      `draft head     ${manifest.draftHead ? `the ${manifest.draftHead.ids.length} most frequent of ${manifest.config.vocabSize} tokens` : 'the full LM head'}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  },
};
