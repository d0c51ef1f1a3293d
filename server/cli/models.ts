// `layerskip models`: list installed model packages (size, source), remove one, or list the known LayerSkip
// checkpoints. `--json` for the VS Code extension.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KNOWN_CHECKPOINTS, LAYERSKIP_LICENSE_NOTE } from '../hub/catalog.js';
import { listInstalledPackages, removeInstalledPackage, removeStaleStaging } from '../hub/packages.js';
import { formatBytes } from '../hub/progress.js';

const USAGE = `usage: layerskip models [list] [--dir DIR] [--json]     installed packages (default --dir ./models)
       layerskip models remove <name> [--dir DIR]      delete an installed package
       layerskip models known [--json]                 LayerSkip checkpoints on the Hub`;

async function run(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { dir: { type: 'string', default: 'models' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  });
  const [action = 'list', name, ...extra] = positionals;
  const dir = resolve(values.dir);
  const print = (value: unknown): void => void process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  if (values.help || extra.length > 0 || !['list', 'remove', 'known'].includes(action) || (action === 'remove') !== (name !== undefined)) {
    process.stderr.write(USAGE + '\n');
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  if (action === 'known') {
    if (values.json) return print({ licenseNote: LAYERSKIP_LICENSE_NOTE, checkpoints: KNOWN_CHECKPOINTS });
    process.stdout.write(`${LAYERSKIP_LICENSE_NOTE}\n`);
    for (const c of KNOWN_CHECKPOINTS) {
      process.stdout.write(`${c.repoId.padEnd(34)} ${c.parameters.padStart(5)}  ~${formatBytes(c.downloadBytes).padStart(7)}  E=${c.recommendedExitLayer} d=${c.recommendedDraftLength} (${c.recommendationBasis})\n`);
    }
    return;
  }
  if (action === 'remove' && name !== undefined) {
    await removeInstalledPackage(dir, name);
    if (values.json) return print({ removed: name, dir });
    process.stderr.write(`removed ${name} from ${dir}\n`);
    return;
  }
  await removeStaleStaging(dir);
  const packages = await listInstalledPackages(dir);
  if (values.json) return print(packages);
  if (packages.length === 0) process.stderr.write(`no model packages in ${dir}\n`);
  for (const p of packages) {
    const detail = p.problem ? `not usable: ${p.problem}` : `${p.dtype ?? '?'}  from ${p.source ?? '?'}${p.revision ? `@${p.revision.slice(0, 12)}` : ''}`;
    process.stdout.write(`${p.name.padEnd(44)} ${formatBytes(p.bytes).padStart(8)}  ${detail}\n`);
  }
}

export const command = { summary: 'list or remove installed model packages; list known LayerSkip checkpoints', usage: USAGE, run };
