// The demo's Go build says what it does while it runs (scripts/demo-build.js): a first
// `npm start` downloads modules and compiles grpc-go for a minute or two, and used to print
// nothing meanwhile. The build runs for real; a short progress interval stands in for a slow
// machine. The module download runs into an empty module cache of its own (GOMODCACHE).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../../support/go-fixtures.js';

interface BuildOptions {
  say?: (text: string) => void;
  everyMs?: number;
  env?: Record<string, string>;
}
interface DemoBuild {
  SERVICES: readonly string[];
  buildFleet(root: string, binDir: string, opts?: BuildOptions): Promise<void>;
  downloadModules(cwd: string, env: NodeJS.ProcessEnv, opts?: BuildOptions): Promise<void>;
}

const tmp = mkdtempSync(join(tmpdir(), 'periscope-demo-build-'));
const load = async (): Promise<DemoBuild> =>
  (await import(pathToFileURL(join(ROOT, 'scripts', 'demo-build.js')).href)) as DemoBuild;

after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

test('the build names each service it builds, with the time a slow step has taken', async () => {
  const { SERVICES, buildFleet } = await load();
  const said: string[] = [];
  const bin = join(tmp, 'bin');
  // A fresh directory: each service is linked (the build cache holds its packages), which takes
  // longer than the 20 ms interval between progress lines.
  await buildFleet(ROOT, bin, { say: (t) => said.push(t), everyMs: 20 });
  const text = said.join('\n');
  // On a machine whose module cache lacks the demo's modules (a fresh CI machine where no
  // earlier test downloaded them), the download's own lines come first; nothing else may.
  const building = said.findIndex((l) => /^building the demo services /.test(l));
  assert.ok(building >= 0, text);
  for (const l of said.slice(0, building))
    assert.match(l, /^(downloading | {2}|Go modules downloaded in )/, text);
  assert.match(
    said[building] ?? '',
    /building the demo services \(demo\/: inventory, orders, gateway, loadgen\)/,
  );
  for (const s of SERVICES) {
    assert.ok(existsSync(join(bin, `demo-${s}`)), `demo-${s} was not built`);
    assert.match(text, new RegExp(`^  ${s}: \\d+\\.\\d s, \\d+ packages compiled$`, 'm'), text);
    assert.match(text, new RegExp(`^  ${s}: built in \\d+\\.\\d s`, 'm'), text);
  }
  assert.match(said.at(-1) ?? '', /^built the demo services in \d+\.\d s$/);

  // Built already, at the default interval: two lines, not one per service or per second.
  said.length = 0;
  await buildFleet(ROOT, bin, { say: (t) => said.push(t) });
  assert.equal(said.length, 2, said.join('\n'));
  assert.match(said[1] ?? '', /^built the demo services in \d+\.\d s$/);
});

test('missing Go modules are downloaded one by one, named as each arrives; cached ones are not', async () => {
  const { downloadModules } = await load();
  const modcache = join(tmp, 'gomodcache');
  const env = { ...process.env, GOMODCACHE: modcache, GOFLAGS: '-mod=readonly -modcacherw' };
  const said: string[] = [];
  try {
    await downloadModules(join(ROOT, 'demo'), env, { say: (t) => said.push(t), everyMs: 10_000 });
    const text = said.join('\n');
    assert.match(
      said[0] ?? '',
      /^downloading the demo's 6 Go modules \(google\.golang\.org\/grpc v1\.70\.0 and 5 more\)/,
    );
    assert.match(text, /^ {2}google\.golang\.org\/grpc v1\.70\.0 \(\d of 6, \d+\.\d s\)$/m);
    assert.match(text, /^ {2}golang\.org\/x\/net v0\.32\.0 \(\d of 6, \d+\.\d s\)$/m);
    assert.equal(said.filter((l) => / of 6, /.test(l)).length, 6, text);
    assert.match(said.at(-1) ?? '', /^Go modules downloaded in \d+\.\d s$/);

    said.length = 0;
    await downloadModules(join(ROOT, 'demo'), env, { say: (t) => said.push(t) });
    assert.deepEqual(said, []);
  } finally {
    if (existsSync(modcache)) execFileSync('go', ['clean', '-modcache'], { env, stdio: 'ignore' });
  }
});
