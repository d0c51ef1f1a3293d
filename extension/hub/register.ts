// Registers the Hugging Face commands: Download Model, Installed Models, Set / Forget Hugging Face Token.
import { join } from 'node:path';
import * as vscode from 'vscode';
import { showingErrors } from '../commands.js';
import { bundledCliLaunch } from './cliRunner.js';
import { askAndSaveToken, downloadModelCommand, type HubDeps } from './downloadFlow.js';
import { installedModelsCommand } from './modelsFlow.js';
import { TokenStore } from './tokenStore.js';
import { createVscodeHubUi } from './vscodeHubUi.js';

export const HUB_COMMANDS = {
  download: 'layerskip.downloadModel',
  installed: 'layerskip.installedModels',
  setToken: 'layerskip.setHuggingFaceToken',
  forgetToken: 'layerskip.forgetHuggingFaceToken',
} as const;

export function registerHubCommands(context: vscode.ExtensionContext, output: vscode.LogOutputChannel): void {
  const ui = createVscodeHubUi(output);
  const deps: HubDeps = {
    ui,
    tokens: new TokenStore(context.secrets),
    launch: bundledCliLaunch(context.asAbsolutePath(join('dist', 'cli.js'))),
    modelsDir: join(context.globalStorageUri.fsPath, 'models'),
    endpoint: (process.env.HF_ENDPOINT?.trim() || 'https://huggingface.co').replace(/\/+$/, ''),
  };
  const register = (id: string, handler: () => Promise<void>): vscode.Disposable =>
    vscode.commands.registerCommand(id, showingErrors(handler, (message) => ui.log(`${id} failed: ${message}`)));
  context.subscriptions.push(
    register(HUB_COMMANDS.download, () => downloadModelCommand(deps)),
    register(HUB_COMMANDS.installed, () => installedModelsCommand(deps)),
    register(HUB_COMMANDS.setToken, async () => {
      if (await askAndSaveToken(deps, 'Used for gated models such as the LayerSkip checkpoints.')) {
        await ui.info('LayerSkip: Hugging Face token saved in the secret storage.');
      }
    }),
    register(HUB_COMMANDS.forgetToken, async () => {
      await deps.tokens.forget();
      const { source } = await deps.tokens.current();
      await ui.info(`LayerSkip: stored Hugging Face token removed.${source === 'environment' ? ' HF_TOKEN from the environment is still used.' : ''}`);
    }),
  );
}
