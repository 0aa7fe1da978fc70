/**
 * Benchmark: what request traces cost a service's requests. Two processes of
 * testdata/traced-service run side by side under the same load, at the same time: one has a
 * trace on its request path (main.handle's entry and returns, goroutine creation and panics
 * — the probes traces on a program share —, and 5 path probes: main.lookup, main.check and
 * its returns, main.step and its returns — 10 probe hits a request), the other has none. testdata/traced-load sends each a fixed rate of
 * requests (open loop, keep-alive; 1 in 100 fails, and its trace is kept) and prints the
 * achieved rate and latency percentiles of each. Several rounds; the table shows each and
 * the median. Also: the agent's CPU over the rounds, and what the trace kept and dropped.
 *
 * Usage: npx tsc -p . && node dist/bench/traces.js [--rate 1000] [--seconds 20] [--rounds 3] [--max-cpu 100%] [--path mixed|entries]
 */
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  cli,
  cliJson,
  createToken,
  fleetTag,
  sleep,
  startAgentProc,
  startServerProc,
  startTagged,
  tempDir,
  waitForFleet,
} from '../support/fleet.js';
import { buildFixture } from '../support/go-fixtures.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { PRODUCT_PAUSE_CAP_ARGS } from '../support/pause-cap.js';
import { procCpuMs } from '../support/proc.js';
import { median } from '../support/stats.js';
import { formatTable } from '../support/table.js';
import type { Target } from '../support/target.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
}
const RATE = Number(arg('rate', '1000'));
const SECONDS = Number(arg('seconds', '20'));
const ROUNDS = Number(arg('rounds', '3'));
const HOST = 'bench-traces';
/** The breaker's share for the trace's probes: high, so that the cost is measured rather than switched off. */
const MAX_CPU = arg('max-cpu', '100%');
/** `mixed` (default): 2 of the 5 path probes at returns; `entries`: all 5 at entries (main.lookup, main.check, main.step, runtime.makechan, runtime.chanrecv1: 9 hits a request, 2 at RETs, against 10 and 5), to tell the cost of single-stepped RETs. */
const PATH = arg('path', 'mixed');
const PATH_PROBES =
  PATH === 'entries'
    ? `      - { name: lookup, function: main.lookup, capture: { user: user } }
      - { name: check, function: main.check, capture: { user: user } }
      - { name: step, function: main.step, capture: { i: i } }
      - { name: makechan, function: runtime.makechan, capture: { size: size } }
      - { name: recv, function: runtime.chanrecv1, capture: { queued: c.qcount } }`
    : `      - { name: lookup, function: main.lookup, capture: { user: user } }
      - { name: check, function: main.check, capture: { user: user } }
      - { name: checked, return: main.check, capture: { err: r0 } }
      - { name: step, function: main.step, capture: { i: i } }
      - { name: stepped, return: main.step, capture: { n: r0 } }`;

interface LoadResult {
  readonly url: string;
  readonly sent: number;
  readonly errors: number;
  readonly rps: number;
  readonly p50us: number;
  readonly p90us: number;
  readonly p99us: number;
  readonly maxus: number;
}

const portOf = (t: Target) =>
  Number(/port (\d+)/.exec(t.lines.find((l) => l.text.startsWith('ready'))!.text)![1]);

async function main(): Promise<void> {
  const machine = describeMachine();
  const [svc, load] = await Promise.all([buildFixture('traced-service'), buildFixture('traced-load')]);
  const dataDir = tempDir('periscope-bench-traces-');
  const tag = fleetTag();
  const server = await startServerProc(dataDir);
  const userToken = await createToken(dataDir, 'user', 'bench');
  const agentToken = await createToken(dataDir, 'agent', 'bench-agent');
  const agent = startAgentProc(server.url, agentToken, HOST, tag, [
    '--runtime-dir',
    join(dataDir, 'run'),
    ...PRODUCT_PAUSE_CAP_ARGS,
  ]);
  const traced = await startTagged(svc.path, [], tag, HOST);
  const plain = await startTagged(svc.path, [], tag, HOST);
  const env = { PERISCOPE_TOKEN: userToken, PERISCOPE_SERVER: server.url };
  try {
    await waitForFleet(server.url, userToken, { [HOST]: [traced.pid, plain.pid] });
    const spec = join(dataDir, 'spec.yaml');
    writeFileSync(
      spec,
      `programs:
  - name: traced
    match: { pid: "^${traced.pid}$" }
traces:
  - name: work
    program: traced
    function: main.handle
    start: { user: user }
    error: r0
    probes:
${PATH_PROBES}
    keep: [error, { slower_than: 200ms }]
    maxCpu: ${MAX_CPU}
`,
    );
    const set = await cli(['spec', 'set', spec], env);
    if (set.code !== 0) throw new Error(set.stderr);
    await agent.waitFor(
      new RegExp(`attached .*work:${PATH === 'entries' ? 'recv' : 'stepped'}.* to process ${traced.pid}`),
      60_000,
    );
    const urls = [traced, plain].map((t) => `http://127.0.0.1:${portOf(t)}/work`);
    const rows: string[][] = [];
    const p99: { traced: number[]; plain: number[] } = { traced: [], plain: [] };
    const p50: { traced: number[]; plain: number[] } = { traced: [], plain: [] };
    const rps: { traced: number[]; plain: number[] } = { traced: [], plain: [] };
    const loads: string[] = [];
    const cpu0 = procCpuMs(agent.pid) ?? 0;
    const t0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      loads.push(loadAverage());
      const { stdout } = await promisify(execFile)(
        load.path,
        ['-rate', String(RATE), '-seconds', String(SECONDS), '-warmup', '3', ...urls],
        { maxBuffer: 1 << 20 },
      );
      const [a, b] = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as LoadResult);
      for (const [k, x] of [
        ['traced', a!],
        ['plain', b!],
      ] as const) {
        p99[k].push(x.p99us);
        p50[k].push(x.p50us);
        rps[k].push(x.rps);
        rows.push([
          String(r + 1),
          k === 'traced' ? 'with trace (5 probes)' : 'without',
          x.rps.toFixed(0),
          (x.p50us / 1000).toFixed(3),
          (x.p90us / 1000).toFixed(3),
          (x.p99us / 1000).toFixed(3),
          (x.maxus / 1000).toFixed(1),
          String(x.errors),
        ]);
      }
    }
    const agentCpu = ((procCpuMs(agent.pid) ?? 0) - cpu0) / (performance.now() - t0);
    // The agent may still be decoding and assembling what the rounds sent: wait until the counts settle.
    const countsSql =
      'SELECT sum(requests)::BIGINT AS requests, sum(kept)::BIGINT AS kept, sum(dropped)::BIGINT AS dropped, sum(over_rate)::BIGINT AS over_rate, sum(over_memory)::BIGINT AS over_memory, sum(events_dropped)::BIGINT AS events_dropped, sum(unfinished)::BIGINT AS unfinished FROM trace_counts';
    const ended = performance.now();
    let counts = await cliJson<Record<string, unknown>[]>(['query', '--format', 'json', countsSql], env);
    for (let same = 0; same < 2 && performance.now() - ended < 120_000; ) {
      await sleep(2000);
      const next = await cliJson<Record<string, unknown>[]>(['query', '--format', 'json', countsSql], env);
      same = JSON.stringify(next) === JSON.stringify(counts) ? same + 1 : 0;
      counts = next;
    }
    const settledS = (performance.now() - ended) / 1000 - 4;
    const probeDrops = await cliJson<Record<string, unknown>[]>(
      [
        'query',
        '--format',
        'json',
        "SELECT sum(hits)::BIGINT AS hits, sum(rate_limited + ring_full + agent_dropped)::BIGINT AS dropped FROM probe_counts WHERE probe LIKE 'work:%' OR probe LIKE 'traces.%'",
      ],
      env,
    );
    const med = (k: 'traced' | 'plain') => [
      'median',
      k === 'traced' ? 'with trace (5 probes)' : 'without',
      median(rps[k]).toFixed(0),
      (median(p50[k]) / 1000).toFixed(3),
      '',
      (median(p99[k]) / 1000).toFixed(3),
      '',
      '',
    ];
    rows.push(med('traced'), med('plain'));
    console.log(
      `Request traces, ${today()}, ${machine.short}, ${machine.node}, ${svc.goVersion}; path probes: ${PATH}; ${RATE} requests/s to each process, ${ROUNDS} rounds of ${SECONDS} s; load average at each round: ${loads.join(', ')}\n`,
    );
    console.log(
      formatTable([
        ['round', 'process', 'requests/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors'],
        ...rows,
      ]),
    );
    const added = (median(p99.traced) / median(p99.plain) - 1) * 100;
    console.log(
      `\nadded p99 (medians): ${added.toFixed(1)}%; added p50: ${((median(p50.traced) / median(p50.plain) - 1) * 100).toFixed(1)}%`,
    );
    console.log(`agent CPU over the rounds: ${(agentCpu * 100).toFixed(1)}% of a core`);
    console.log(
      `requests sent to the traced process: ${ROUNDS * (SECONDS + 3) * RATE}; trace counts (settled ${settledS.toFixed(0)} s after the load ended): ${JSON.stringify(counts[0])}; the trace's probes: ${JSON.stringify(probeDrops[0])}`,
    );
    for (const l of agent.lines) if (/switched off|traces:/.test(l.text)) console.log(`agent: ${l.text}`);
  } finally {
    await agent.stop();
    await traced.kill();
    await plain.kill();
    await server.proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
