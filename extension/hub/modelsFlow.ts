// "LayerSkip: Installed Models": list the packages in the models folder (size, source), switch to one, or remove
// one. Listing and removal go through the CLI so that there is one implementation of both.
import { resolve } from 'node:path';
import type { InstalledPackage } from '../../server/protocol.js';
import { readCliJson } from './cliRunner.js';
import { downloadModelCommand, type HubDeps } from './downloadFlow.js';

export async function installedModelsCommand(deps: HubDeps): Promise<void> {
  const { ui } = deps;
  const models = (await readCliJson(deps.launch, ['models', '--dir', deps.modelsDir, '--json'])) as InstalledPackage[];
  const current = ui.currentModelPath();
  if (models.length === 0) {
    await ui.info('LayerSkip: no models installed yet.', { label: 'Download Model', run: () => downloadModelCommand(deps) });
    return;
  }
  const choice = await ui.pickInstalled(models, current);
  if (!choice) return;
  const { model, action } = choice;
  if (action === 'use') {
    if (model.problem) throw new Error(`${model.name} cannot be used: ${model.problem}`);
    await ui.setModelPath(model.dir);
    ui.log(`layerskip.modelPath switched to ${model.dir}`);
    return;
  }
  const inUse = current !== undefined && resolve(current) === resolve(model.dir);
  const question = `Delete ${model.name} (${model.dir})?${inUse ? ' It is the model in use: completions stop until another is chosen.' : ''}`;
  if (!(await ui.confirm(question, 'Delete'))) return;
  await readCliJson(deps.launch, ['models', 'remove', model.name, '--dir', deps.modelsDir, '--json']);
  if (inUse) await ui.setModelPath(undefined);
  ui.log(`removed ${model.dir}`);
}
