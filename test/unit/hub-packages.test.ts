import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listInstalledPackages, removeInstalledPackage, removeStaleStaging, stagingDir } from '../../server/hub/packages.js';
import { packageName } from '../../server/protocol.js';
import { unusedPid } from '../support/pids.js';

void describe('installed model packages', () => {
  void it('lists sub-folders with size and the manifest problem when there is no valid manifest; hides staging folders', async () => {
    const models = await mkdtemp(join(tmpdir(), 'models-'));
    await mkdir(join(models, 'broken'));
    await writeFile(join(models, 'broken', 'weights.bin'), Buffer.alloc(1234));
    await mkdir(stagingDir(models, 'facebook--x-int8'), { recursive: true });
    const listed = await listInstalledPackages(models);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.name, 'broken');
    assert.equal(listed[0]?.bytes, 1234);
    assert.match(listed[0]?.problem ?? '', /manifest/);
    assert.deepEqual(await listInstalledPackages(join(models, 'absent')), []);
  });

  void it('remove deletes a package and refuses anything outside the models folder', async () => {
    const models = await mkdtemp(join(tmpdir(), 'models-'));
    await mkdir(join(models, 'facebook--a-int8'));
    await removeInstalledPackage(models, 'facebook--a-int8');
    assert.ok(!existsSync(join(models, 'facebook--a-int8')));
    await assert.rejects(removeInstalledPackage(models, '..'), /not a package name/);
    await assert.rejects(removeInstalledPackage(models, '../etc'), /not a package name/);
    await assert.rejects(removeInstalledPackage(models, 'a/b'), /not a package name/);
    await assert.rejects(removeInstalledPackage(models, '.hidden'), /not a package name/);
    await assert.rejects(removeInstalledPackage(models, 'missing'), /No installed model/);
    assert.ok(existsSync(models));
  });

  void it('removes staging folders of dead processes only', async () => {
    const models = await mkdtemp(join(tmpdir(), 'models-'));
    const deadPid = unusedPid();
    await mkdir(stagingDir(models, 'x', deadPid), { recursive: true });
    await mkdir(stagingDir(models, 'y', process.pid), { recursive: true });
    assert.deepEqual(await removeStaleStaging(models), [`.x.converting-${deadPid}`]);
    assert.ok(existsSync(stagingDir(models, 'y', process.pid)));
    assert.equal(packageName('facebook/layerskip-llama3.2-1B', 'int8'), 'facebook--layerskip-llama3.2-1B-int8');
  });
});
