// The calibration of the loaded model, as the server runs it: reused from the store when this model was calibrated on
// this device before, else run in the background when the model first loads (setting autoCalibrate) and on request.
// One runs at a time; its progress and result reach the client as CalibrationStatus notifications.
import type { CalibrationKey, CalibrationStore } from '../calibration/calibrationStore.js';
import type { SampleText } from '../calibration/codeSample.js';
import type { CalibrationRequest } from '../engine/workerProtocol.js';
import type { CalibrationProgress, CalibrationResult, CalibrationStatus } from '../protocol.js';

/** The engine's calibration call (EngineClient.calibrate). */
export type Calibrate = (
  request: CalibrationRequest,
  options: { signal: AbortSignal; onProgress: (progress: CalibrationProgress) => void },
) => Promise<CalibrationResult>;

export interface CalibrationTarget {
  calibrate: Calibrate;
  key: CalibrationKey;
  modelName: string;
}

export interface CalibrationSources {
  store: CalibrationStore;
  /** The user's code, most recently edited first. */
  texts: () => SampleText[];
  bundled: SampleText | null;
}

const NONE: CalibrationStatus = { state: 'none', progress: null, result: null, message: '' };

export class Calibrations {
  private status: CalibrationStatus = NONE;
  private target: CalibrationTarget | null = null;
  /** The calibration that runs: its result, and its controller (set before the call starts it). */
  private running: Promise<CalibrationResult> | null = null;
  private runningController: AbortController | null = null;

  constructor(
    private readonly sources: CalibrationSources,
    private readonly onStatus: (status: CalibrationStatus) => void,
    private readonly log: (message: string) => void,
  ) {}

  get current(): CalibrationStatus {
    return this.status;
  }

  /** A model is ready: its stored calibration applies, else one starts in the background when `automatic`. */
  modelReady(target: CalibrationTarget, automatic: boolean): void {
    this.cancel();
    this.target = target;
    const stored = this.sources.store.load(target.key);
    this.setStatus({ state: stored ? 'done' : 'none', progress: null, result: stored, message: stored ? `calibrated on ${stored.createdAt}` : '' });
    if (stored === null && automatic) this.start().catch(() => undefined); // the status carries the failure
  }

  /** The model went away (reload, failure, shutdown): a running calibration is cancelled. */
  modelGone(): void {
    this.cancel();
    this.target = null;
    this.setStatus(NONE);
  }

  /** Starts a calibration of the ready model, or joins the one running. */
  start(): Promise<CalibrationResult> {
    if (this.running !== null) return this.running;
    const target = this.target;
    if (target === null) return Promise.reject(new Error('no model is loaded to calibrate'));
    const controller = new AbortController();
    const request: CalibrationRequest = { texts: this.sources.texts(), bundled: this.sources.bundled, modelName: target.modelName };
    const previous = this.status.result;
    this.setStatus({ state: 'running', progress: { phase: 'agreement', fraction: 0 }, result: previous, message: '' });
    // a calibration that was cancelled or replaced no longer speaks for the status (the running one is known before
    // the call: progress may come at once)
    this.runningController = controller;
    const current = (): boolean => this.runningController === controller;
    const result = target.calibrate(request, {
      signal: controller.signal,
      onProgress: (progress) => {
        if (current()) this.setStatus({ ...this.status, progress });
      },
    });
    this.running = result;
    result.then(
      (calibration) => {
        if (!current()) return;
        this.stopped();
        let message = '';
        try {
          this.sources.store.save(target.key, calibration);
        } catch (error) {
          // a read-only or full disk costs the next start a calibration, not this one its result
          message = `not kept for the next start: ${error instanceof Error ? error.message : String(error)}`;
          this.log(`calibration ${message}`);
        }
        this.setStatus({ state: 'done', progress: null, result: calibration, message });
      },
      (error: unknown) => {
        if (!current()) return;
        this.stopped();
        const message = error instanceof Error ? error.message : String(error);
        this.log(`calibration failed: ${message}`);
        this.setStatus({ state: previous ? 'done' : 'failed', progress: null, result: previous, message });
      },
    );
    return result;
  }

  /** Cancels the calibration that runs, if any; the previous result (if any) stays. */
  cancel(): void {
    const controller = this.runningController;
    if (controller === null) return;
    this.stopped();
    controller.abort();
    const result = this.status.result;
    this.setStatus({ state: result ? 'done' : 'none', progress: null, result, message: 'cancelled' });
  }

  private stopped(): void {
    this.running = null;
    this.runningController = null;
  }

  private setStatus(status: CalibrationStatus): void {
    this.status = status;
    this.onStatus(status);
  }
}
