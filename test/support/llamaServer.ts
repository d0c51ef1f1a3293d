// llama.cpp's OpenAI-compatible server (llama-cpp-python[server], installed once into a cached venv by
// scripts/setup-llama-server.sh) started on 127.0.0.1 for a test, and the bundled model's original GGUF it serves.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repoRoot = resolve(__dirname, '..', '..');

/** The original Q4_1 GGUF the bundled package was imported from (npm run setup-model puts it there). */
export const BUNDLED_GGUF = join(repoRoot, 'training', 'work', 'base-model', 'SmolLM2-135M-Instruct.Q4_1.gguf');
export const BUNDLED_PACKAGE = join(repoRoot, 'media', 'models', 'default');

/** The venv's python with llama_cpp installed (the script returns at once when the cache is up to date). */
export function llamaPython(): string {
  for (const file of [BUNDLED_GGUF, join(BUNDLED_PACKAGE, 'manifest.json')]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run npm run setup-model`);
  }
  return execFileSync('bash', [join(repoRoot, 'scripts', 'setup-llama-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface LlamaServer {
  /** The API's base URL: http://127.0.0.1:PORT/v1 */
  url: string;
  port: number;
  process: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

/** Starts the server on `port` (a free one by default) and waits until it lists its model. */
export async function startLlamaServer(options: { gguf: string; alias: string; port?: number; apiKey?: string; threads?: number }): Promise<LlamaServer> {
  const port = options.port ?? (await freePort());
  const args = ['-m', 'llama_cpp.server', '--model', options.gguf, '--model_alias', options.alias, '--host', '127.0.0.1', '--port', String(port), '--n_ctx', '2048', '--n_threads', String(options.threads ?? 1)];
  if (options.apiKey !== undefined) args.push('--api_key', options.apiKey);
  // Its output goes to a file, not a pipe: a caller that blocks its event loop (execFileSync) would stop draining a
  // pipe, and the server would then stall writing its access log (seen: bench:remote's remote figures halved).
  const logFile = join(mkdtempSync(join(tmpdir(), 'llama-server-')), 'server.log');
  const logFd = openSync(logFile, 'w');
  const child = spawn(llamaPython(), args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const log = (): string => readFileSync(logFile, 'utf8');
  const url = `http://127.0.0.1:${port}/v1`;
  const headers: Record<string, string> = options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama.cpp's server exited (${child.exitCode}):\n${log().slice(-2000)}`);
    const ok = await fetch(`${url}/models`, { headers }).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`llama.cpp's server did not answer within 120 s:\n${log().slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    port,
    process: child,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
