// What the client hears about completions besides their results: whether any request is generating (its spinner:
// an aborted request overlaps the next, so it is a count) and each completion's statistics (status bar, and the
// running figures per exit layer behind Set Exit Layer).
import type { Connection } from 'vscode-languageserver';
import { GeneratingNotification, StatsNotification, type CompletionStats } from '../protocol.js';
import { notify } from '../lspMessages.js';
import type { LayerMeasurements } from './layerMeasurements.js';

export class CompletionActivity {
  /** Requests between receipt and answer. */
  private running = 0;

  constructor(
    private readonly connection: Connection,
    private readonly measurements: LayerMeasurements,
  ) {}

  /** Runs `work` as one request on `uri`: the client is told generating when the first starts and when the last ends. */
  async generating<T>(uri: string, work: () => Promise<T>): Promise<T> {
    if (++this.running === 1) notify(this.connection, GeneratingNotification, { uri, generating: true });
    try {
      return await work();
    } finally {
      if (--this.running === 0) notify(this.connection, GeneratingNotification, { uri, generating: false });
    }
  }

  stats(stats: CompletionStats): void {
    this.measurements.record(stats);
    notify(this.connection, StatsNotification, stats);
  }
}
