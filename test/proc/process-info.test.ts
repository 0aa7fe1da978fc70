/**
 * Process facts and the executable image: exe path, command line, the asked-for environment,
 * start time, mappings, build ID and load bias (checked against the file on disk and
 * `go tool buildid`). The Go check is gobinary's (test/gobinary/go-check.test.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, linkSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PeriscopeError } from '../../src/common/errors.js';
import { openElf } from '../../src/elf/elf-file.js';
import { executableImage, parseMaps } from '../../src/proc/maps.js';
import { exeIdentity, processExists, processInfo, startTime } from '../../src/proc/process-info.js';
import { buildFixture, goTool } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';

describe('process info and executable image', { timeout: 120_000 }, () => {
  const targets: Target[] = [];
  after(async () => {
    for (const t of targets) await t.kill();
  });

  it('parses /proc/PID/maps lines, paths with spaces and anonymous mappings included', () => {
    const maps = parseMaps(
      '00400000-0049f000 r-xp 00000000 fd:01 1234  /tmp/my prog\n' +
        'c000000000-c000400000 rw-p 00000000 00:00 0 \n' +
        '7ffd1000-7ffd2000 rw-p 00000000 00:00 0                          [stack]\n',
    );
    assert.equal(maps.length, 3);
    assert.deepEqual(maps[0], {
      start: 0x400000,
      end: 0x49f000,
      perms: 'r-xp',
      offset: 0,
      dev: 'fd:01',
      inode: 1234,
      path: '/tmp/my prog',
    });
    assert.equal(maps[1]!.path, '');
    assert.equal(maps[2]!.path, '[stack]');
  });

  for (const pie of [false, true]) {
    it(`describes a running Go program (${pie ? 'PIE' : 'non-PIE'})`, async () => {
      const bin = await buildFixture('signalnotify', { flags: pie ? ['-buildmode=pie'] : [] });
      const target = await startTarget(bin.path, ['an arg'], { GOGC: '123', SECRET_TOKEN: 'x' });
      targets.push(target);
      const info = processInfo(target.pid, ['GOGC', 'NOT_SET']);
      assert.equal(info.exePath, realpathSync(bin.path)); // the kernel names the file by its real path
      assert.equal(info.exeDeleted, false);
      assert.deepEqual(info.cmdline, [bin.path, 'an arg']);
      assert.deepEqual(info.env, { GOGC: '123' }, 'only the asked-for variables are read out');
      assert.equal(info.tracerPid, 0);
      assert.ok(info.hostname.length > 0);
      assert.equal(startTime(target.pid), info.startTime);
      assert.ok(processExists(target.pid));

      const image = executableImage(target.pid);
      const onDisk = await openElf(bin.path);
      assert.equal(image.buildId, onDisk.buildId());
      const goBuildId = (await goTool('local', ['buildid', bin.path])).trim();
      assert.equal(image.elf.goBuildId(), goBuildId);
      assert.ok(image.mappings.length >= 2, 'text and data mappings');
      // The entry point, relocated by the bias, lies in an executable mapping of the file.
      const entry = image.bias.toRuntime(onDisk.entry);
      assert.ok(image.mappings.some((m) => m.perms.includes('x') && entry >= m.start && entry < m.end));
      if (!pie) assert.equal(image.bias.value, 0);
    });
  }

  it('processes running one file each get their own path and bias', async () => {
    const bin = await buildFixture('signalnotify', { flags: ['-buildmode=pie'] });
    // The same file under a second name (a hard link: same inode), as in another container.
    // Next to the binary: a hard link cannot cross file systems.
    const dir = mkdtempSync(join(dirname(bin.path), 'link-'));
    const other = join(dir, 'renamed');
    linkSync(bin.path, other);
    const a = await startTarget(bin.path);
    const b = await startTarget(other);
    targets.push(a, b);
    const ia = executableImage(a.pid);
    assert.equal(exeIdentity(b.pid), exeIdentity(a.pid), 'one file, one identity');
    const ib = executableImage(b.pid, ia.elf); // the image read for a, as a cache would give it
    const [realA, realB] = [realpathSync(bin.path), realpathSync(other)];
    rmSync(dir, { recursive: true, force: true }); // the running process keeps its inode
    assert.equal(ia.path, realA);
    assert.equal(ib.path, realB, 'each process keeps its own path');
    assert.ok(ia.mappings.length >= 2 && ib.mappings.length >= 2);
    // Each PIE has its own load bias, from its own mappings.
    for (const [img, t] of [
      [ia, a],
      [ib, b],
    ] as const) {
      const text = img.mappings.find((m) => m.perms.includes('x'))!;
      const entry = img.bias.toRuntime(img.elf.entry);
      assert.ok(entry >= text.start && entry < text.end, `${t.pid}`);
    }
  });

  it('a non-Go process is described too; a gone one is not-found', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 50));
      const info = processInfo(sleeper.pid as number, []);
      assert.deepEqual(info.env, {});
      assert.match(info.exePath, /sleep$/);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('exit', r));
    }
    let pid = 4_000_000;
    while (existsSync(`/proc/${pid}`)) pid--;
    assert.equal(processExists(pid), false);
    assert.throws(
      () => processInfo(pid, []),
      (e: unknown) => e instanceof PeriscopeError && e.kind === 'not-found',
    );
    assert.throws(
      () => executableImage(pid),
      (e: unknown) => e instanceof PeriscopeError && e.kind === 'not-found',
    );
  });
});
