/**
 * Engine worker (bundled as dist/engineWorker.js): owns one Engine and runs its generations off the thread that
 * serves the editor. A 'cancel' message is handled between two decode steps (every step awaits onnxruntime, which
 * lets this thread's message queue run), so cancellation takes effect within one step. A calibration runs here too,
 * in the background: generations go first (BackgroundGate).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { BackgroundGate } from '../calibration/backgroundGate.js';
import { calibratePackage } from '../calibration/calibratePackage.js';
import type { Engine } from './engine.js';
import { loadPackageEngine } from './loadPackage.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './workerProtocol.js';

function parentPortOrThrow(): MessagePort {
  if (parentPort === null) throw new Error('worker.ts must run in a worker thread (use EngineClient)');
  return parentPort;
}

const port = parentPortOrThrow();
const post = (reply: WorkerReply): void => port.postMessage(reply);
const running = new Map<number, AbortController>();
const gate = new BackgroundGate();

async function handle(engine: Engine, setup: WorkerSetup, request: WorkerRequest): Promise<void> {
  switch (request.type) {
    case 'generate': {
      const controller = new AbortController();
      running.set(request.id, controller);
      try {
        const result = await gate.foreground(() =>
          engine.generate(request.prompt, request.params, {
            signal: controller.signal,
            onText: (delta, tokens) => post({ type: 'text', id: request.id, delta, tokens }),
          }),
        );
        post({ type: 'done', id: request.id, value: result });
      } finally {
        running.delete(request.id);
      }
      return;
    }
    case 'calibrate': {
      const controller = new AbortController();
      running.set(request.id, controller);
      try {
        const result = await calibratePackage(setup.packageDir, {
          ...request.request,
          codec: { encode: (text) => engine.tokenize(text), decode: (tokens) => engine.detokenize(tokens) },
          backendOptions: setup.options,
          runUnit: gate.background,
          signal: controller.signal,
          onProgress: (progress) => post({ type: 'progress', id: request.id, progress }),
        });
        post({ type: 'done', id: request.id, value: result });
      } finally {
        running.delete(request.id);
      }
      return;
    }
    case 'cancel':
      running.get(request.id)?.abort();
      return;
    case 'tokenize':
      return post({ type: 'done', id: request.id, value: engine.tokenize(request.text) });
    case 'detokenize':
      return post({ type: 'done', id: request.id, value: engine.detokenize(request.tokens) });
    case 'dispose':
      for (const controller of running.values()) controller.abort();
      await engine.dispose();
      post({ type: 'done', id: request.id, value: null });
      port.close();
      return;
  }
}

async function main(): Promise<void> {
  const setup = workerData as WorkerSetup;
  let engine: Engine;
  try {
    engine = await loadPackageEngine(setup.packageDir, { ...setup.options, onWarning: (message) => post({ type: 'warning', message }) });
  } catch (error) {
    post({ type: 'load-failed', message: messageOf(error) });
    return;
  }
  port.on('message', (request: WorkerRequest) => {
    handle(engine, setup, request).catch((error: unknown) => post({ type: 'failed', id: request.id, message: messageOf(error) }));
  });
  post({ type: 'ready', info: engine.info() });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

void main();
