import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { FormatError, PeriscopeError } from '../../src/common/errors.js';
import { ElfFile, openElf } from '../../src/elf/elf-file.js';
import { type BuildInfo, buildSetting, readBuildInfo } from '../../src/gobinary/buildinfo.js';
import { parseModuleInfo, unquoteGo } from '../../src/gobinary/buildinfo-text.js';
import { compareGoVersions, parseGoVersion } from '../../src/gobinary/go-version.js';
import { openGoSymtab } from '../../src/gobinary/pclntab-open.js';
import { buildFixture, toolchainUnavailable } from '../../support/go-fixtures.js';
import { DELVE, ensureGoTool, STRINGER } from '../../support/go-tools.js';
import { PCLNTAB_TOOLCHAINS } from './toolchains.js';

const run = promisify(execFile);

/** `go version -m` output, parsed independently of our parser: the lines as the go command prints them. */
async function oracle(path: string, toolchain = 'local'): Promise<{ version: string; lines: string[] }> {
  const { stdout } = await run('go', ['version', '-m', path], {
    env: { ...process.env, GOTOOLCHAIN: toolchain },
    maxBuffer: 1 << 26,
  });
  const [first, ...rest] = stdout.split('\n');
  return {
    version: first!.slice(first!.lastIndexOf(': ') + 2),
    // BuildInfo.String() ends a replacement with an extra newline: skip the blank line.
    lines: rest.filter((l) => l.startsWith('\t') && l !== '\t').map((l) => l.slice(1)),
  };
}

/** Our build info as the same lines; values the go command quotes are compared after JSON-decoding its quote. */
function ourLines(bi: BuildInfo): string[] {
  const out: string[] = [];
  if (bi.path) out.push(`path\t${bi.path}`);
  const mod = (word: string, m: NonNullable<BuildInfo['main']>): void => {
    out.push(m.replace ? `${word}\t${m.path}\t${m.version}` : `${word}\t${m.path}\t${m.version}\t${m.sum}`);
    if (m.replace) mod('=>', m.replace);
  };
  if (bi.main) mod('mod', bi.main);
  for (const d of bi.deps) mod('dep', d);
  for (const s of bi.settings) out.push(`build\t${s.key}=${s.value}`);
  return out;
}

function unquoteOracle(lines: string[]): string[] {
  return lines.map((l) => {
    const m = /^build\t([^=]+)=(".*")$/.exec(l);
    return m ? `build\t${m[1]}=${JSON.parse(m[2]!) as string}` : l;
  });
}

async function compareWithGoVersion(path: string, toolchain = 'local'): Promise<BuildInfo> {
  const elf = await openElf(path);
  const bi = readBuildInfo(elf);
  assert.ok(bi, 'has build info');
  const want = await oracle(path, toolchain);
  assert.equal(bi.goVersion, want.version);
  assert.equal(bi.source, 'buildinfo');
  assert.deepEqual(ourLines(bi), unquoteOracle(want.lines));
  return bi;
}

for (const tc of PCLNTAB_TOOLCHAINS) {
  test(`build info agrees with go version -m (${tc})`, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const fx = await buildFixture('inlining', {
      toolchain: tc,
      // (-trimpath would drop -ldflags from the build info: go.dev/issue/52372.)
      flags: ['-ldflags=-s -w -X main.unused=a"b', '-tags=periscope,x'],
    });
    const bi = await compareWithGoVersion(fx.path, tc);
    assert.equal(bi.goVersion, fx.goVersion);
    assert.equal(compareGoVersions(bi.version!, parseGoVersion(fx.goVersion)), 0);
    assert.equal(buildSetting(bi, '-ldflags'), '-s -w -X main.unused=a"b');
    assert.equal(buildSetting(bi, 'GOARCH'), 'amd64');
    assert.equal(buildSetting(bi, '-tags'), 'periscope,x');
  });
}

// Real programs from the module proxy, installed into .cache/tools on first use (a failed
// install fails the test): stringer (x/tools, 2 dependencies) and Delve (18 dependencies).
test('build info of binaries with dependencies (stringer, dlv) agrees with go version -m', async (t) => {
  for (const tool of [STRINGER, DELVE]) {
    const { path, built, ms } = await ensureGoTool(tool);
    if (built) t.diagnostic(`built ${tool.pkg}@${tool.version} in ${(ms / 1000).toFixed(1)} s`);
    const bi = await compareWithGoVersion(path);
    assert.equal(bi.path, tool.pkg);
    assert.equal(bi.main?.version, tool.version);
    assert.ok(bi.deps.length >= 2, `${path} has dependencies`);
    assert.ok(bi.deps.every((d) => d.sum.startsWith('h1:')));
  }
});

test('build info with vcs stamps and a replaced dependency agrees with go version -m', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-bi-'));
  try {
    mkdirSync(join(dir, 'dep'));
    writeFileSync(join(dir, 'dep', 'go.mod'), 'module example.com/dep\n\ngo 1.22\n');
    writeFileSync(join(dir, 'dep', 'dep.go'), 'package dep\n\nfunc N() int { return 7 }\n');
    writeFileSync(
      join(dir, 'go.mod'),
      'module example.com/stamped\n\ngo 1.22\n\nrequire example.com/dep v1.2.3\n\nreplace example.com/dep v1.2.3 => ./dep\n',
    );
    writeFileSync(
      join(dir, 'main.go'),
      'package main\n\nimport "example.com/dep"\n\nfunc main() { println(dep.N()) }\n',
    );
    const git = (...args: string[]) =>
      run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir });
    await git('init', '-q');
    await git('add', '.');
    await git('commit', '-qm', 'initial');
    writeFileSync(
      join(dir, 'main.go'),
      'package main\n\nimport "example.com/dep"\n\nfunc main() { println(dep.N(), 1) }\n',
    );
    const out = join(dir, 'stamped');
    await run('go', ['build', '-buildvcs=true', '-o', out, '.'], {
      cwd: dir,
      env: { ...process.env, GOFLAGS: '', CGO_ENABLED: '0', GOTOOLCHAIN: 'local' },
    });
    const bi = await compareWithGoVersion(out);
    assert.equal(bi.main?.path, 'example.com/stamped');
    assert.equal(bi.deps[0]?.replace?.path, './dep');
    assert.match(buildSetting(bi, 'vcs.revision') ?? '', /^[0-9a-f]{40}$/);
    assert.equal(buildSetting(bi, 'vcs.modified'), 'true');
    assert.equal(buildSetting(bi, 'vcs'), 'git');
    assert.equal(buildSetting(bi, 'CGO_ENABLED'), '0');
    assert.ok(buildSetting(bi, 'vcs.time'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without the build-info blob, the version comes from runtime.buildVersion', async () => {
  const fx = await buildFixture('hello');
  const elf = await openElf(fx.path);
  const sec = elf.section('.go.buildinfo')!;
  const copy = Uint8Array.from(readFileSync(fx.path));
  copy.fill(0, sec.offset, sec.offset + 16); // erase the magic
  const bi = readBuildInfo(new ElfFile(copy, fx.path));
  assert.equal(bi?.source, 'runtime.buildVersion');
  assert.equal(bi?.goVersion, fx.goVersion);
});

test('a non-Go ELF file is reported as not a Go program', async () => {
  const elf = await openElf('/usr/bin/readelf');
  assert.equal(readBuildInfo(elf), undefined);
  assert.throws(
    () => openGoSymtab(elf),
    (e: unknown) =>
      e instanceof PeriscopeError && e.kind === 'not-go' && /is not a Go program/.test(e.message),
  );
});

test('Go versions parse and order like the toolchain', () => {
  assert.deepEqual(
    { ...parseGoVersion('go1.24.13'), raw: '' },
    { major: 1, minor: 24, patch: 13, pre: '', devel: false, raw: '' },
  );
  const order = [
    'go1.21rc2',
    'go1.21.0',
    'go1.22beta1',
    'go1.22rc1',
    'go1.22.0',
    'go1.22.12',
    'devel go1.22-abc',
    'go1.26.8',
  ];
  for (let i = 0; i + 1 < order.length; i++) {
    const a = parseGoVersion(order[i]!);
    const b = parseGoVersion(order[i + 1]!);
    assert.ok(compareGoVersions(a, b) < 0, `${order[i]} < ${order[i + 1]}`);
    assert.ok(compareGoVersions(b, a) > 0);
  }
  assert.equal(parseGoVersion('go1.24.0 X:boringcrypto').minor, 24);
  assert.throws(() => parseGoVersion('1.2.3'), PeriscopeError);
});

test('module-info text: Go string escapes and malformed lines', () => {
  assert.equal(unquoteGo('"a\\tb\\"c\\\\d\\x41\\101\\u00e9\\U0001F600"'), 'a\tb"c\\dAAé😀');
  assert.equal(unquoteGo('`raw\\n`'), 'raw\\n');
  const bad = [
    'mod\tonly-one-column',
    '=>\ta\tb\tc',
    'build\t=novalue',
    'build\t"unterminated=x',
    'build\tk="\\q"',
  ];
  for (const text of bad)
    assert.throws(() => parseModuleInfo(`path\tx\n${text}\n`), FormatError, JSON.stringify(text));
  const mi = parseModuleInfo(
    'path\tp\nmod\tm\t(devel)\t\ndep\td\tv1\th1:x\n=>\t../d\t\t\nbuild\t"a b"="c\\td"\n',
  );
  assert.deepEqual(mi.deps[0]?.replace, { path: '../d', version: '', sum: '' });
  assert.deepEqual(mi.settings, [{ key: 'a b', value: 'c\td' }]);
});
