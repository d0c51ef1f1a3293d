// The packaged .vsix (npm run package) in a real VS Code: it installs into code-server, holds only runtime files,
// its onnxruntime-node runs a model from the installed folder, and the extension activates.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { onnx } from 'onnx-proto';
import { hostTarget, ortBinaryDir, vsixPath } from '../../scripts/package.js';
import { installedExtensionDir, prepareCodeServer, withEditor } from './support/editor.js';

const extensionId = 'layerskip.layerskip-completion';
const vsix = vsixPath();
const ortBinaries = `node_modules/onnxruntime-node/${ortBinaryDir(hostTarget())}`;

function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix + entry.name;
    return entry.isDirectory() ? listFiles(path.join(dir, entry.name), `${relative}/`) : [relative];
  });
}

/** A one-node ONNX model y = x + x over float[3]. */
function writeDoublingModel(file: string): void {
  const float3 = (name: string): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 3 }] } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'double', node: [{ opType: 'Add', input: ['x', 'x'], output: ['y'] }], input: [float3('x')], output: [float3('y')] },
  });
  fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
}

void test('the installed .vsix holds only runtime files, and its onnxruntime-node runs a model', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'layerskip-vsix-'));
  try {
    prepareCodeServer(root, [vsix], {});
    const extensionDir = installedExtensionDir(path.join(root, 'extensions'), extensionId);
    const files = listFiles(extensionDir);

    const runtimeFile = [
      /^package\.json$/,
      /^readme\.md$/i,
      /^LICENSE(\.txt)?$/,
      /^\.vsixmanifest$/, // written by VS Code on install
      /^dist\/(extension|server|engineWorker|cli)\.js$/, // no benchmark bundle ships
      /^media\/(models\/default\/[^/]+|draft-corpus\.txt|icon\.png)$/,
      /^docs\/images\/[^/]+\.png$/,
      /^node_modules\/onnxruntime-common\/(package\.json|dist\/cjs\/([^/]+\.js|package\.json))$/,
      /^node_modules\/onnxruntime-node\/(package\.json|dist\/[^/]+\.js)$/,
      new RegExp(`^${ortBinaries}/[^/]+$`),
    ];
    assert.deepEqual(files.filter((file) => !runtimeFile.some((pattern) => pattern.test(file))), [], 'unexpected files');
    for (const required of [
      'dist/extension.js',
      'dist/server.js',
      'dist/engineWorker.js',
      'media/models/default/manifest.json',
      'media/draft-corpus.txt',
      'media/icon.png',
      `${ortBinaries}/onnxruntime_binding.node`,
    ]) {
      assert.ok(files.includes(required), `missing ${required}`);
    }

    // Load onnxruntime-node from the unpacked extension (not from the repo) in a fresh Node process.
    const model = path.join(root, 'double.onnx');
    writeDoublingModel(model);
    const script = `
      const ort = require(process.argv[1]);
      ort.InferenceSession.create(process.argv[2])
        .then((s) => s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [3]) }))
        .then((r) => console.log(JSON.stringify(Array.from(r.y.data))));`;
    const output = execFileSync(
      process.execPath,
      ['-e', script, path.join(extensionDir, 'node_modules', 'onnxruntime-node'), model],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );
    assert.deepEqual(JSON.parse(output), [2, 4, 6]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

void test('the .vsix activates in code-server: status bar item, listed as activated in Running Extensions', async () => {
  await withEditor({ name: 'activation', vsix, files: { 'hello.py': 'print("hello")\n' } }, async (editor) => {
    const item = await editor.waitForStatusBarItem(/LayerSkip/, 45_000);
    assert.match(item.label, /LayerSkip/);
    await editor.screenshot('status-bar');

    await editor.openFile('hello.py');
    assert.equal((await editor.editorLines())[0], 'print("hello")');
    // VS Code's own account of activation, independent of what the extension chooses to show.
    await editor.runCommand('Developer: Show Running Extensions');
    const row = editor.page.locator('.runtime-extensions-editor .monaco-list-row:has-text("LayerSkip Code Completion")');
    await row.first().waitFor({ state: 'visible', timeout: 15_000 });
    assert.match(await row.first().innerText(), /Activation: \d+ms/);
    await editor.screenshot('running-extensions');
  });
});
