// Copies the README's pictures from the last e2e runs of test/e2e/calibration.test.ts and remote-ghost-text.test.ts
// into docs/images/:   npm run readme-images   (packages, runs those e2e tests, then this)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './package.js';

const shots = path.join(repoRoot, 'test-output', 'e2e');
const pictures: Record<string, string> = {
  'calibration/ghost-text-while-calibrating.png': 'ghost-text.png',
  'calibration/calibration-chart.png': 'calibration.png',
  'calibration/calibration-speedup.png': 'calibration-speedup.png',
  'remote-ghost-text/remote-ghost-text.png': 'remote-ghost-text.png',
};
for (const [shot, picture] of Object.entries(pictures)) {
  const from = path.join(shots, shot);
  if (!fs.existsSync(from)) throw new Error(`${from} is missing: run its e2e test first (npm run readme-images does)`);
  fs.copyFileSync(from, path.join(repoRoot, 'docs', 'images', picture));
  console.log(`docs/images/${picture} <- ${path.relative(repoRoot, from)}`);
}
