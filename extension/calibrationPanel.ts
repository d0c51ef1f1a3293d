// The Show Calibration webview: one panel, redrawn whenever the calibration status changes, whose buttons and chart
// cells change the `layerskip.*` settings (the server follows them like any settings change).
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { CalibrationStatus } from '../server/protocol.js';
import { calibrationPage, type CalibrationPageMessage } from './calibrationPage.js';
import { useCalibratedSetting, useSetting } from './calibrationSettings.js';
import type { ServerClient } from './serverClient.js';
import { updateSetting } from './settings.js';

export class CalibrationPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | null = null;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly server: ServerClient,
    private readonly log: (message: string) => void,
  ) {
    this.subscription = server.onCalibration((status) => this.render(status));
  }

  async show(): Promise<void> {
    if (this.panel === null) {
      this.panel = vscode.window.createWebviewPanel('layerskip.calibration', 'LayerSkip Calibration', vscode.ViewColumn.Active, { enableScripts: true });
      this.panel.onDidDispose(() => (this.panel = null));
      this.panel.webview.onDidReceiveMessage((message: CalibrationPageMessage) => {
        this.act(message).catch((error: unknown) => {
          const text = error instanceof Error ? error.message : String(error);
          this.log(`calibration panel: ${text}`);
          void vscode.window.showErrorMessage(`LayerSkip: ${text}`);
        });
      });
    } else {
      this.panel.reveal();
    }
    this.render(await this.server.refreshCalibration());
  }

  dispose(): void {
    this.subscription.dispose();
    this.panel?.dispose();
  }

  private async act(message: CalibrationPageMessage): Promise<void> {
    switch (message.type) {
      case 'apply':
        return useSetting(message.exitLayer, message.draftLength);
      case 'auto':
        return useCalibratedSetting();
      case 'full':
        return updateSetting('mode', 'full');
      case 'cancel':
        return this.server.cancelCalibration();
      case 'calibrate':
        // the panel redraws from the progress notifications; the result comes the same way
        this.server.calibrate().catch((error: unknown) => this.log(`calibration: ${error instanceof Error ? error.message : String(error)}`));
        return;
    }
  }

  private render(status: CalibrationStatus): void {
    if (this.panel === null) return;
    this.panel.webview.html = calibrationPage(status, randomBytes(16).toString('base64'));
  }
}
