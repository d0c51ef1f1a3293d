#!/usr/bin/env node
// `layerskip` command line: one file per command under cli/, each exporting `run(args)`.
// Add a command by adding one line to `commands`.

interface Command {
  summary: string;
  usage: string;
  run: (args: string[]) => Promise<void>;
}

const commands: Record<string, () => Promise<Command>> = {
  download: async () => (await import('./cli/download.js')).command,
  models: async () => (await import('./cli/models.js')).command,
  convert: async () => (await import('./cli/convert.js')).command,
  info: async () => (await import('./cli/info.js')).command,
  logits: async () => (await import('./cli/logits.js')).command,
  generate: async () => (await import('./cli/generate.js')).command,
  calibrate: async () => (await import('./cli/calibrate.js')).command,
  'export-draft': async () => (await import('./cli/exportDraft.js')).command,
};

function usage(): string {
  const lines = Object.keys(commands).map((name) => `  layerskip ${name}`);
  return ['usage: layerskip <command> [options]   (layerskip <command> --help: its options)', '', 'commands:', ...lines].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  const load = name === undefined ? undefined : commands[name];
  if (!load) {
    process.stderr.write(usage() + '\n');
    process.exitCode = name === undefined || name === '--help' ? 0 : 2;
    return;
  }
  const command = await load();
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`layerskip ${name}: ${command.summary}\n${command.usage}\n`);
    return;
  }
  await command.run(args);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`layerskip: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
