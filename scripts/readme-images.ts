// Copies the README's pictures from the last e2e calibration run (test/e2e/calibration.test.ts) into docs/images/:
//   npm run readme-images   (packages, runs that e2e test, then this)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './package.js';

const shots = path.join(repoRoot, 'test-output', 'e2e', 'calibration');
const pictures: Record<string, string> = {
  'ghost-text-while-calibrating.png': 'ghost-text.png',
  'calibration-chart.png': 'calibration.png',
  'calibration-speedup.png': 'calibration-speedup.png',
};
for (const [shot, picture] of Object.entries(pictures)) {
  const from = path.join(shots, shot);
  if (!fs.existsSync(from)) throw new Error(`${from} is missing: run the e2e calibration test first (npm run readme-images does)`);
  fs.copyFileSync(from, path.join(repoRoot, 'docs', 'images', picture));
  console.log(`docs/images/${picture} <- ${path.relative(repoRoot, from)}`);
}
