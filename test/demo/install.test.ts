// What a new user's `npm ci` has to build: nothing from source. better-sqlite3, the ingest
// benchmark's anchor, compiled SQLite for 2 minutes of a fresh machine's `npm ci`; it is
// installed by the benchmark on its first run from bench/sqlite-anchor instead.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../support/go-fixtures.js';

interface LockEntry {
  readonly version?: string;
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly hasInstallScript?: boolean;
  readonly os?: readonly string[];
  readonly cpu?: readonly string[];
}
interface Lock {
  readonly packages: Record<string, LockEntry>;
}

const readJson = <T>(...path: string[]): T => JSON.parse(readFileSync(join(ROOT, ...path), 'utf8')) as T;

/** Whether an os or cpu list of package.json allows `here` ("linux", "!win32"; none: all). */
function allows(list: readonly string[] | undefined, here: string): boolean {
  if (list === undefined || list.includes(`!${here}`)) return list === undefined;
  const positive = list.filter((x) => !x.startsWith('!'));
  return positive.length === 0 || positive.includes(here);
}

/** Whether npm installs this entry on linux/x64 (optional packages of other platforms are skipped). */
const installedHere = (e: LockEntry): boolean => allows(e.os, 'linux') && allows(e.cpu, 'x64');

test('npm ci runs no install script but koffi’s and esbuild’s, which only pick their own prebuilt binaries', () => {
  const lock = readJson<Lock>('package-lock.json');
  const scripted = Object.entries(lock.packages)
    .filter(([name, e]) => name !== '' && e.hasInstallScript && installedHere(e))
    .map(([name]) => name);
  // koffi's install is `cnoke --prebuild`: it finds the prebuilt binary of its optional
  // package @koromix/koffi-linux-x64 and builds nothing.
  // esbuild's (`node install.js`) checks that the binary of its optional package
  // @esbuild/linux-x64 is there and links it in place of its JS launcher; it downloads only
  // when that package is missing. esbuild builds the web app during `npm ci` (prepare).
  assert.deepEqual(scripted, ['node_modules/esbuild', 'node_modules/koffi']);
  assert.equal(lock.packages['node_modules/@esbuild/linux-x64']?.optional, true);
  assert.equal(lock.packages['node_modules/better-sqlite3'], undefined);
  // npm 11 warns about (and is to skip) install scripts that package.json does not allow. By
  // name: a pinned entry (koffi@3.3.4) is refused when the lockfile has no resolved URLs to
  // verify the version with (omit-lockfile-registry-resolved); the lockfile pins the version.
  const pkg = readJson<{ allowScripts?: Record<string, boolean> }>('package.json');
  assert.deepEqual(pkg.allowScripts, { esbuild: true, koffi: true });
});

test('the ingest benchmark’s anchor is pinned by its own lockfile (bench/sqlite-anchor)', () => {
  const pkg = readJson<{ dependencies: Record<string, string>; allowScripts: Record<string, boolean> }>(
    'bench',
    'sqlite-anchor',
    'package.json',
  );
  const lock = readJson<Lock>('bench', 'sqlite-anchor', 'package-lock.json');
  const version = pkg.dependencies['better-sqlite3'];
  assert.match(
    version ?? '',
    /^\d+\.\d+\.\d+$/,
    'an exact version: the figures in docs/performance.md name it',
  );
  assert.equal(lock.packages['node_modules/better-sqlite3']?.version, version);
  // npm 11 runs a dependency's install script only when package.json allows it (by name, as above).
  assert.deepEqual(pkg.allowScripts, { 'better-sqlite3': true });
});
