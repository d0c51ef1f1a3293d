// What the download and model-list flows need from the editor. extension/hub/vscodeHubUi.ts implements it with
// VS Code's API; tests implement it with scripted answers, so the flows run end to end without an editor.
import type { InstalledPackage, KnownCheckpoint } from '../../server/protocol.js';

export type PackageDtypeName = 'fp32' | 'fp16' | 'int8' | 'int4';

export interface ProgressSink {
  /** `percent` is the overall fraction done of the current phase, 0..100, when known. */
  report(message: string, percent?: number): void;
  onCancel(listener: () => void): void;
}

export interface UiAction {
  label: string;
  run: () => Promise<void>;
}

export interface HubUi {
  /** A repo id (picked or typed), or undefined when dismissed. */
  pickCheckpoint(known: KnownCheckpoint[], licenseNote: string): Promise<string | undefined>;
  pickDtype(): Promise<PackageDtypeName | undefined>;
  /** Asks for a Hugging Face token (masked input); undefined when dismissed. */
  askToken(why: string): Promise<string | undefined>;
  withProgress<T>(title: string, task: (progress: ProgressSink) => Promise<T>): Promise<T>;
  pickInstalled(models: InstalledPackage[], currentDir: string | undefined): Promise<{ model: InstalledPackage; action: 'use' | 'remove' } | undefined>;
  confirm(message: string, confirmLabel: string): Promise<boolean>;
  info(message: string, ...actions: UiAction[]): Promise<void>;
  error(message: string, ...actions: UiAction[]): Promise<void>;
  openUrl(url: string): Promise<void>;
  /** The model the server uses (layerskip.modelPath), and switching it: the server reloads on the change. */
  currentModelPath(): string | undefined;
  setModelPath(dir: string | undefined): Promise<void>;
  log(line: string): void;
}
