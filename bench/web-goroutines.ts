/**
 * Benchmark: the web app's goroutines view on big snapshots of a real Go program.
 * testdata/manystacks parks N goroutines on 512 distinct stacks (about 25 frames, four ways of
 * waiting, a pprof label); a snapshot of it at 10k and at 100k goroutines is stored,
 * `periscope server` serves them, and headless Chromium (signed in) times:
 * - first view: navigation to /snapshots/ID until the stack groups and the flame graph are on
 *   screen with the snapshot's total, median of --runs fresh loads (target at 10k: under 1 s);
 * - filter (at 100k): a function typed in the filter bar and Enter, until the groups show the
 *   new total;
 * - expand a group (at 100k): a click on the first group until its goroutines are listed.
 * Needs the web app built (`npm run build`).
 *
 * Usage: npm run build && node dist/bench/web-goroutines.js [--runs N] [--sizes 10000,100000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startServer } from '../src/server/server.js';
import { snapshotProcess } from '../src/snapshot/take-snapshot.js';
import { DuckDBStore } from '../src/store/duckdb-store.js';
import { TokenStore } from '../src/store/tokens.js';
import { launchChromium } from '../support/chromium.js';
import { buildFixture } from '../support/go-fixtures.js';
import { describeMachine, loadAverage } from '../support/machine.js';
import { summarize } from '../support/stats.js';
import { startTarget } from '../support/target.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? String(process.argv[i + 1]) : def;
}
const RUNS = Number(arg('runs', '5'));
const SIZES = arg('sizes', '10000,100000').split(',').map(Number);
const TARGET_MS = 1000;

/** Stores a snapshot of manystacks with `n` goroutines (and the runtime's own); returns its id and total. */
async function storeSnapshot(
  store: DuckDBStore,
  path: string,
  n: number,
): Promise<{ id: number; total: number }> {
  const target = await startTarget(path, ['-n', String(n)], {}, /^ready/, 120_000);
  try {
    const t0 = performance.now();
    // A long pause cap: the bench wants every stack, not the default 100 ms partial snapshot.
    const snapshot = snapshotProcess(target.pid, { pauseCapMs: 30_000 });
    const took = performance.now() - t0;
    const id = await store.addSnapshot({ processes: [{ hostname: hostname(), snapshot }], specText: '' });
    console.log(
      `  snapshot ${id}: ${snapshot.goroutines.length} goroutines (taken in ${took.toFixed(0)} ms, pause ${(snapshot.pauseNs / 1e6).toFixed(1)} ms)`,
    );
    return { id, total: snapshot.goroutines.length };
  } finally {
    await target.kill();
  }
}

/** The heading's "N goroutines in M stacks". */
async function heading(page: Page): Promise<string> {
  return (await page.locator('h1').textContent()) ?? '';
}

/** Loads /snapshots/ID and waits for groups, flame graph and total; returns ms. */
async function firstView(page: Page, url: string, n: number): Promise<number> {
  await page.goto('about:blank');
  const t0 = performance.now();
  await page.goto(url, { waitUntil: 'commit' });
  await page.locator('button.ghead').first().waitFor();
  await page.locator('.fbox').first().waitFor();
  await page
    .locator('h1')
    .filter({ hasText: `${n.toLocaleString('en-US')} goroutines` })
    .waitFor();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(
    `web-goroutines: sizes ${SIZES.join(', ')}, ${RUNS} runs; ${machine.short}; load ${loadAverage()}`,
  );
  const fixture = await buildFixture('manystacks');
  const dir = mkdtempSync(join(tmpdir(), 'periscope-bench-webg-'));
  const store = await DuckDBStore.open(dir);
  const snaps = new Map<number, { id: number; total: number }>();
  for (const n of SIZES) snaps.set(n, await storeSnapshot(store, fixture.path, n));
  await store.close();
  const server = await startServer({ dataDir: dir, port: 0, agentLog: () => {} });
  const token = new TokenStore(dir).create('user', 'bench').token;
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(`${server.url}/signin`);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Views' }).waitFor();
    for (const n of SIZES) {
      const { id, total } = snaps.get(n) ?? { id: 0, total: 0 };
      const url = `${server.url}/snapshots/${id}`;
      const samples: number[] = [];
      // The first load warms the server's caches and the browser's: not counted.
      for (let r = 0; r <= RUNS; r++) {
        const ms = await firstView(page, url, total);
        if (r > 0) samples.push(ms);
      }
      const s = summarize(samples);
      const verdict =
        n <= 10_000 ? `; target < ${TARGET_MS} ms: ${s.median < TARGET_MS ? 'met' : 'NOT met'}` : '';
      console.log(
        `${n} goroutines, first view (groups, flame graph, total): median ${s.median.toFixed(0)} ms (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)})${verdict}`,
      );
      if (n <= 10_000 && s.median >= TARGET_MS) process.exitCode = 1;
      if (n < 100_000) continue;
      const filter: number[] = [];
      const expand: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        await firstView(page, url, total);
        const before = await heading(page);
        const t0 = performance.now();
        await page.getByRole('textbox', { name: 'Function' }).fill('main.right');
        await page.keyboard.press('Enter');
        await page
          .locator('h1')
          .filter({ hasNotText: before })
          .filter({ hasText: 'goroutines in' })
          .waitFor();
        await page.locator('button.ghead').first().waitFor();
        filter.push(performance.now() - t0);
        const t1 = performance.now();
        await page.locator('button.ghead').first().click();
        await page.locator('.grow').first().waitFor();
        expand.push(performance.now() - t1);
      }
      const f = summarize(filter);
      const e = summarize(expand);
      console.log(
        `${n} goroutines, filter by function (typed, Enter, to the new groups): median ${f.median.toFixed(0)} ms (min ${f.min.toFixed(0)}, max ${f.max.toFixed(0)})`,
      );
      console.log(
        `${n} goroutines, expand a group (click to its goroutines listed): median ${e.median.toFixed(0)} ms (min ${e.min.toFixed(0)}, max ${e.max.toFixed(0)})`,
      );
    }
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
