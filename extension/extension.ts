import * as vscode from 'vscode';

// Placeholder shell: the language client, provider and commands arrive with the completion-server issue.
export function activate(context: vscode.ExtensionContext): void {
  const status = vscode.window.createStatusBarItem('layerskip.status', vscode.StatusBarAlignment.Right, 100);
  status.name = 'LayerSkip';
  status.text = '$(zap) LayerSkip';
  status.tooltip = 'LayerSkip Code Completion';
  status.show();
  context.subscriptions.push(status);
}

export function deactivate(): void {}
