// Calibrations kept across restarts, one file per (model package, device, threads, CPU): a calibration holds only
// for what it measured. A package converted again (another manifest) or a device change misses and calibrates anew.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CalibrationResult } from '../protocol.js';

export interface CalibrationKey {
  /** sha256 of the package's manifest.json: the weights, the conversion and the draft vocabulary. */
  model: string;
  device: string;
  threads: number;
  cpu: string;
}

/** The fingerprint of a package for CalibrationKey.model. */
export function packageFingerprint(packageDir: string): string {
  return createHash('sha256').update(readFileSync(join(packageDir, 'manifest.json'))).digest('hex');
}

export class CalibrationStore {
  /** `dir` is asked each time: the server learns its storage folder only when the client initializes. */
  constructor(private readonly dir: () => string) {}

  /** The stored calibration for `key`, or null (none, unreadable, or stored for another key). */
  load(key: CalibrationKey): CalibrationResult | null {
    try {
      const stored = JSON.parse(readFileSync(this.file(key), 'utf8')) as { key?: CalibrationKey; result?: CalibrationResult };
      return JSON.stringify(stored.key) === JSON.stringify(key) && stored.result?.chosen ? stored.result : null;
    } catch {
      return null;
    }
  }

  /** Written to a temporary file and renamed: a crash mid-write never leaves half a calibration. */
  save(key: CalibrationKey, result: CalibrationResult): void {
    mkdirSync(this.dir(), { recursive: true });
    const file = this.file(key);
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify({ key, result }, null, 2) + '\n');
    renameSync(partial, file);
  }

  private file(key: CalibrationKey): string {
    const name = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 24);
    return join(this.dir(), `calibration-${name}.json`);
  }
}
