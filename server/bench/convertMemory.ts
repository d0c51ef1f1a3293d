// Peak memory of `layerskip convert` on a synthetic ~2 GB BF16 checkpoint (target: < 1.5 GB RSS).
// Run: node --import tsx server/bench/convertMemory.ts [--dtype fp16,int4,...] [--keep]
// It generates the checkpoint (streamed, never held in memory), converts it in a child process and reports the
// child's peak RSS as the kernel counts it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateCheckpoint } from '../../test/support/checkpoints.js';
import { convertCheckpoint } from '../model/convert.js';
import type { PackageDtype } from '../model/weightEncoding.js';

// Llama-2-like shapes at hidden 2048: ~103 MB of BF16 per layer, 131 MB each for embedding and head.
const SHAPE = { hiddenSize: 2048, intermediateSize: 5632, numHeads: 16, numLayers: 17, vocabSize: 32000 };
const NEEDED_DISK_BYTES = 9 * 2 ** 30; // checkpoint 2 GB + an fp32 package 4 GB + slack

async function child(checkpoint: string, out: string, dtype: PackageDtype): Promise<void> {
  await convertCheckpoint(checkpoint, out, { dtype });
  process.stdout.write(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }) + '\n');
}

/** Converts in a child process; its peak RSS from the kernel (getrusage ru_maxrss, via process.resourceUsage). */
function measure(checkpoint: string, out: string, dtype: PackageDtype): { peakMiB: number; seconds: number } {
  const started = Date.now();
  const stdout = execFileSync(process.execPath, ['--import', 'tsx', __filename, '--child', checkpoint, out, '--dtype', dtype], {
    encoding: 'utf8',
  });
  const { maxRssKiB } = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { maxRssKiB: number };
  return { peakMiB: maxRssKiB / 1024, seconds: (Date.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { child: { type: 'boolean', default: false }, dtype: { type: 'string', default: 'fp16' }, keep: { type: 'boolean', default: false } },
  });
  const dtypes = values.dtype.split(',') as PackageDtype[];
  if (values.child) return child(positionals[0], positionals[1], dtypes[0]);
  const work = mkdtempSync(join(tmpdir(), 'convert-memory-'));
  const free = statfsSync(work).bavail * statfsSync(work).bsize;
  if (free < NEEDED_DISK_BYTES) {
    console.error(`SKIPPED: convert memory benchmark needs ${NEEDED_DISK_BYTES / 2 ** 30} GiB free in ${work}, has ${(free / 2 ** 30).toFixed(1)} GiB`);
    rmSync(work, { recursive: true });
    process.exitCode = 3;
    return;
  }
  try {
    const generated = Date.now();
    const checkpoint = generateCheckpoint({ family: 'llama2', dir: join(work, 'ckpt'), dtype: 'BF16', shards: 2, ...SHAPE });
    const sizeGiB = Number(execFileSync('du', ['-sb', checkpoint.dir], { encoding: 'utf8' }).split('\t')[0]) / 2 ** 30;
    console.log(`checkpoint: ${sizeGiB.toFixed(2)} GiB BF16 in ${((Date.now() - generated) / 1000).toFixed(0)} s`);
    for (const dtype of dtypes) {
      const out = join(work, `pkg-${dtype}`);
      const result = measure(checkpoint.dir, out, dtype);
      console.log(`convert --dtype ${dtype}: peak RSS ${result.peakMiB.toFixed(0)} MiB, ${result.seconds.toFixed(0)} s, target < 1536 MiB`);
      if (result.peakMiB >= 1536) process.exitCode = 1;
      rmSync(out, { recursive: true });
    }
  } finally {
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
