/**
 * Benchmark: the web app's first view of a big snapshot. A synthetic snapshot of 10k goroutines
 * (300 stacks of 10 frames, support/synthetic-snapshot.ts) is stored, `periscope server` serves
 * it, and headless Chromium (signed in) opens /snapshots/1: the time from navigation to the
 * stack groups and the flame graph on screen, median of --runs fresh page loads. Target: under
 * 1 s on this machine (issue 14). Needs the web app built (`npm run build`).
 *
 * Usage: npm run build && node dist/bench/web-first-view.js [--runs N] [--goroutines N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../src/server/server.js';
import { DuckDBStore } from '../src/store/duckdb-store.js';
import { TokenStore } from '../src/store/tokens.js';
import { launchChromium } from '../support/chromium.js';
import { describeMachine, loadAverage } from '../support/machine.js';
import { summarize } from '../support/stats.js';
import { SYNTHETIC_SPEC, syntheticSnapshot } from '../support/synthetic-snapshot.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const RUNS = arg('runs', 7);
const GOROUTINES = arg('goroutines', 10_000);
const TARGET_MS = 1000;

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(
    `web-first-view: ${GOROUTINES} goroutines, ${RUNS} runs; ${machine.short}; load ${loadAverage()}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'periscope-bench-web-'));
  const store = await DuckDBStore.open(dir);
  await store.setSpec(SYNTHETIC_SPEC, 'bench', 'synthetic.yaml');
  await store.addSnapshot({
    processes: [{ hostname: 'bench', snapshot: syntheticSnapshot(GOROUTINES, 10) }],
    specText: SYNTHETIC_SPEC,
  });
  store.close();
  const server = await startServer({ dataDir: dir, port: 0, agentLog: () => {} });
  const token = new TokenStore(dir).create('user', 'bench').token;
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/signin`);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Views' }).waitFor();
    const samples: number[] = [];
    for (let r = 0; r <= RUNS; r++) {
      await page.goto('about:blank');
      const t0 = performance.now();
      await page.goto(`${server.url}/snapshots/1`, { waitUntil: 'commit' });
      await page.locator('button.ghead').first().waitFor();
      await page.locator('.fbox').first().waitFor();
      const total = await page.locator('h1').textContent();
      if (
        !total?.includes(`${GOROUTINES.toLocaleString('en-US')} goroutines`) &&
        !total?.includes(`${GOROUTINES} goroutines`)
      )
        throw new Error(`the page does not show the snapshot's ${GOROUTINES} goroutines: ${total}`);
      // The first load warms the server's caches and the browser's: not counted.
      if (r > 0) samples.push(performance.now() - t0);
    }
    const s = summarize(samples);
    console.log(
      `first view (groups and flame graph on screen): median ${s.median.toFixed(0)} ms (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)}); target < ${TARGET_MS} ms: ${s.median < TARGET_MS ? 'met' : 'NOT met'}`,
    );
    if (s.median >= TARGET_MS) process.exitCode = 1;
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
