// Runs the bundled `layerskip` CLI (dist/cli.js) in a child process and reads its `--progress json` events.
// Downloads and conversions run there, not in the extension host: conversion is CPU-bound and synchronous, and a
// process can always be stopped. The token goes to the child in its environment (HF_TOKEN), never on the
// command line (visible to other users in `ps`) and never in a log.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How to start the CLI: in VS Code, the editor's own runtime in Node mode running dist/cli.js. */
export interface CliLaunch {
  command: string;
  /** Arguments before the CLI's own (e.g. the script path). */
  prefixArgs: string[];
  env: NodeJS.ProcessEnv;
}

export function bundledCliLaunch(cliScript: string, baseEnv: NodeJS.ProcessEnv = process.env): CliLaunch {
  // The extension host's execPath is Electron; ELECTRON_RUN_AS_NODE makes it a plain Node (harmless under Node).
  return { command: process.execPath, prefixArgs: [cliScript], env: { ...baseEnv, ELECTRON_RUN_AS_NODE: '1' } };
}

/** One `--progress json` event; fields as written by server/cli/downloadProgress.ts. */
export interface CliEvent {
  event: string;
  [field: string]: unknown;
}

export interface CliResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  events: CliEvent[];
  /** Last lines of stderr, for errors the CLI could not report as an event. */
  stderrTail: string;
}

export interface RunningCli {
  pid: number | undefined;
  result: Promise<CliResult>;
  /** Asks the CLI to stop (it cleans up), and kills it if it has not exited after `graceMs`. */
  cancel(graceMs?: number): void;
}

export interface RunOptions {
  /** Sent as HF_TOKEN (overrides the environment's); undefined leaves the environment's rules in force. */
  token?: string;
  onEvent?: (event: CliEvent) => void;
}

export function runCli(launch: CliLaunch, args: string[], options: RunOptions = {}): RunningCli {
  const env = { ...launch.env };
  if (options.token) env.HF_TOKEN = options.token;
  const child = spawn(launch.command, [...launch.prefixArgs, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  const events: CliEvent[] = [];
  let stderrTail = '';
  let killTimer: NodeJS.Timeout | undefined;

  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = parseEvent(line);
    if (!event) return;
    events.push(event);
    options.onEvent?.(event);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-4000);
  });
  child.stdin.on('error', () => {
    // The child exited before reading "cancel": nothing left to tell it.
  });

  const result = new Promise<CliResult>((resolve) => {
    child.on('error', (error) => {
      stderrTail += `\ncould not start ${launch.command}: ${error.message}`;
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(killTimer);
      resolve({ exitCode, signal, events, stderrTail });
    });
  });

  return {
    pid: child.pid,
    result,
    cancel: (graceMs = 5_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.write('cancel\n');
      // Conversion is synchronous and does not read stdin: stop it the hard way if it does not listen.
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), graceMs);
    },
  };
}

function parseEvent(line: string): CliEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (value && typeof value === 'object' && typeof (value as { event?: unknown }).event === 'string') return value as CliEvent;
  } catch {
    // not an event line (e.g. a stray log line): ignored
  }
  return undefined;
}

/** Runs a CLI command that prints one JSON document on stdout (e.g. `models --json`) and parses it. */
export async function readCliJson(launch: CliLaunch, args: string[]): Promise<unknown> {
  const child = spawn(launch.command, [...launch.prefixArgs, ...args], { env: launch.env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (exitCode !== 0) throw new Error(`layerskip ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim()}`);
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    throw new Error(`layerskip ${args.join(' ')} printed something that is not JSON: ${stdout.slice(0, 200)}`);
  }
}
