/**
 * The engine behind a worker thread, with the in-process Engine's API (generate / tokenize / detokenize / info /
 * dispose). Inference never blocks the caller's thread; an AbortSignal cancels a generation within one step.
 * If the worker dies, every pending call rejects with a message saying so, and later calls reject at once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EngineInfo, GenerationOptions, GenerationParams, GenerationResult } from './engine.js';
import type { PackageEngineOptions } from './loadPackage.js';
import type { CalibrationProgress, CalibrationResult } from '../protocol.js';
import type { CalibrationRequest, WorkerReply, WorkerRequest, WorkerSetup } from './workerProtocol.js';

/** How long a disposed worker may take to end by itself before it is terminated. */
const WORKER_EXIT_GRACE_MS = 5000;

export interface EngineClientOptions extends PackageEngineOptions {
  /** The worker script (.js, or .ts run through tsx); default: see workerScript. */
  workerPath?: string;
}

/** How the worker ended when nobody asked it to. */
export interface EngineDeath {
  exitCode: number;
  message: string;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onText?: (delta: string, tokens: number[]) => void;
  onProgress?: (progress: CalibrationProgress) => void;
}

/** The worker script: dist/engineWorker.js next to the bundle, else worker.ts (tests and tools under tsx). */
function workerScript(workerPath: string | undefined): { script: string; evaluate: boolean } {
  const bundled = join(__dirname, 'engineWorker.js');
  const path = workerPath ?? (existsSync(bundled) ? bundled : join(__dirname, 'worker.ts'));
  if (!path.endsWith('.ts')) return { script: path, evaluate: false };
  // A worker does not inherit tsx's loader: register its require hook in the worker before loading the source.
  return { script: `require('tsx/cjs'); require(${JSON.stringify(path)});`, evaluate: true };
}

export class EngineClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;
  private disposing = false;
  private readonly diedListeners = new Set<(death: EngineDeath) => void>();

  private constructor(
    private readonly worker: Worker,
    private readonly engineInfo: EngineInfo,
    private readonly onWarning: (message: string) => void,
  ) {
    worker.on('message', (reply: WorkerReply) => this.receive(reply));
    worker.on('error', (error) => this.fail(new Error(`engine worker failed: ${error.message}`)));
    worker.on('exit', (code) => {
      const death = { exitCode: code, message: `engine worker exited (code ${code})` };
      this.fail(new Error(death.message));
      if (!this.disposing) for (const listener of this.diedListeners) listener(death);
    });
  }

  /** Calls `listener` once if the worker ends without dispose() (a crash, an out-of-memory kill); returns an unsubscribe. */
  onDied(listener: (death: EngineDeath) => void): () => void {
    this.diedListeners.add(listener);
    return () => this.diedListeners.delete(listener);
  }

  /** Starts a worker that opens the package; resolves once the model is loaded. */
  static start(packageDir: string, options: EngineClientOptions = {}): Promise<EngineClient> {
    const { workerPath, onWarning, ...engineOptions } = options;
    const { script, evaluate } = workerScript(workerPath);
    const setup: WorkerSetup = { packageDir, options: engineOptions };
    const worker = new Worker(script, { workerData: setup, eval: evaluate });
    const warn = onWarning ?? ((message: string) => process.stderr.write(`${message}\n`));
    return new Promise((resolve, reject) => {
      const onExit = (code: number): void => reject(new Error(`engine worker exited (code ${code}) while loading ${packageDir}`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      const onMessage = (reply: WorkerReply): void => {
        if (reply.type === 'warning') return warn(reply.message);
        worker.off('message', onMessage);
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (reply.type === 'ready') resolve(new EngineClient(worker, reply.info, warn));
        else {
          reject(new Error(reply.type === 'load-failed' ? reply.message : `unexpected first message ${reply.type} from the engine worker`));
          void worker.terminate();
        }
      };
      worker.on('message', onMessage);
    });
  }

  generate(prompt: readonly number[] | string, params: Partial<GenerationParams> = {}, options: GenerationOptions = {}): Promise<GenerationResult> {
    const id = this.nextId++;
    const result = this.call({ type: 'generate', id, prompt: typeof prompt === 'string' ? prompt : [...prompt], params }, { onText: options.onText });
    return this.cancellable(id, result as Promise<GenerationResult>, options.signal);
  }

  /**
   * Calibrates the worker's package in the background of its generations (server/calibration/); `signal` cancels it
   * (the promise then rejects).
   */
  calibrate(request: CalibrationRequest, options: { signal?: AbortSignal; onProgress?: (progress: CalibrationProgress) => void } = {}): Promise<CalibrationResult> {
    const id = this.nextId++;
    const result = this.call({ type: 'calibrate', id, request }, { onProgress: options.onProgress });
    return this.cancellable(id, result as Promise<CalibrationResult>, options.signal);
  }

  private cancellable<T>(id: number, result: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal === undefined) return result;
    const cancel = (): void => {
      if (this.pending.has(id)) this.worker.postMessage({ type: 'cancel', id } satisfies WorkerRequest);
    };
    if (signal.aborted) cancel();
    else signal.addEventListener('abort', cancel, { once: true });
    return result.finally(() => signal.removeEventListener('abort', cancel));
  }

  tokenize(text: string): Promise<number[]> {
    return this.call({ type: 'tokenize', id: this.nextId++, text }) as Promise<number[]>;
  }

  detokenize(tokens: readonly number[]): Promise<string> {
    return this.call({ type: 'detokenize', id: this.nextId++, tokens: [...tokens] }) as Promise<string>;
  }

  info(): EngineInfo {
    return this.engineInfo;
  }

  /** Cancels what runs, releases the model, ends the worker. */
  async dispose(): Promise<void> {
    this.disposing = true;
    if (this.failure === null) {
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      await this.call({ type: 'dispose', id: this.nextId++ }).catch(() => undefined);
      // the worker ends by itself once it has released its sessions (its port is closed). terminate() would stop it
      // abruptly, and onnxruntime-node's native objects finalized in a terminating thread can abort the whole
      // process ("terminate called after throwing an instance of 'Napi::Error'", seen after a calibration)
      const timer = setTimeout(() => void this.worker.terminate(), WORKER_EXIT_GRACE_MS);
      await exited;
      clearTimeout(timer);
      return;
    }
    await this.worker.terminate();
  }

  private call(request: WorkerRequest, listeners: Pick<Pending, 'onText' | 'onProgress'> = {}): Promise<unknown> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject, ...listeners });
      this.worker.postMessage(request);
    });
  }

  private receive(reply: WorkerReply): void {
    if (reply.type === 'warning') return this.onWarning(reply.message);
    if (reply.type !== 'text' && reply.type !== 'progress' && reply.type !== 'done' && reply.type !== 'failed') return;
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    if (reply.type === 'text') return pending.onText?.(reply.delta, reply.tokens);
    if (reply.type === 'progress') return pending.onProgress?.(reply.progress);
    this.pending.delete(reply.id);
    if (reply.type === 'done') pending.resolve(reply.value);
    else pending.reject(new Error(reply.message));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
  }
}
