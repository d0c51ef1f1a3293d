// The settings a calibration choice writes: shared by the commands and the calibration panel.
import { updateSetting } from './settings.js';

/** Mode auto with E and d left to the calibration: the fastest measured setting (full decoding when nothing beats it). */
export async function useCalibratedSetting(): Promise<void> {
  await updateSetting('exitLayer', null);
  await updateSetting('draftLength', null);
  await updateSetting('mode', 'auto');
}

/** Self-speculation at (E, d), the user's choice (from the chart or the quick picks). */
export async function useSetting(exitLayer: number, draftLength: number): Promise<void> {
  await updateSetting('exitLayer', exitLayer);
  await updateSetting('draftLength', draftLength);
  await updateSetting('mode', 'self-speculative');
}
