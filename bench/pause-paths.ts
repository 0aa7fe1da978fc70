/**
 * The pause as users get it, three ways in one run on the same target (testdata/pausebench,
 * N parked goroutines, net/http served so the built-in spec has frames to read): the bare
 * pause (stacks only, a long-lived process: what bench/pause.ts measures), the same with the
 * built-in spec in this process, a snapshot through a real `periscope server` and `periscope
 * agent` (built-in spec; its pause from the store's processes table), and a one-shot
 * `periscope snapshot --pid` (a fresh Node process each time). Interleaved: each rep takes
 * one sample of every path. Prints the medians with their phases, the ticker's longest gap,
 * and the ratios: agent / bare (aim within 10%) and one-shot / agent (aim 1.5x).
 *
 * Two more paths measure this morning's changes against their absence, in the same run: a
 * second agent on the same target with PERISCOPE_SETTLE_MS=0 (no wait for the agent's own
 * threads before the pause, proc/own-threads.ts), and the in-process built-in spec with
 * PERISCOPE_SCAN=js (the stack scan in JavaScript instead of WebAssembly SIMD, common/word-scan.ts).
 * Two more agents on the same target: one that evaluates the spec's values inside the pause
 * (PERISCOPE_VALUES_IN_PAUSE=1, as before read plans, snapshot/read-plan.ts), and one whose
 * capture thread runs without V8's concurrent compilation and GC tasks
 * (PERISCOPE_CAPTURE_V8_FLAGS), and one whose copy helper moves itself off the pausing thread's CPU once
 * it runs instead of being placed before it is woken (PERISCOPE_HELPER_PLACEMENT=self, as
 * before 2026-12-06, proc/copy-helper.ts), and one that makes a fresh reserve (the memory the
 * copy lands in) before each pause instead of reusing the last one (PERISCOPE_POOL_RESERVE=0,
 * as before 2026-12-06, proc/vm-reader.ts). A sample whose pause gave up (a busy machine) is taken again.
 * One more one-shot CLI with its warm-up as before 2026-12-06 (PERISCOPE_WARM_UP_LEARN_MS=5,
 * PERISCOPE_WARM_UP_PLANNED_MS=20, PERISCOPE_WARM_UP_ARM=0, PERISCOPE_WARM_UP_WATCHDOG=0, PERISCOPE_POOL_RESERVE=0,
 * PERISCOPE_WARM_UP_REHEARSAL=0, PERISCOPE_WARM_UP_LEARN_CAP_MS=0, PERISCOPE_WARM_UP_MIN_RUNS=0:
 * snapshot/paused-capture.ts), and one whose warm-up does not rehearse the pause on a throw-away
 * child (PERISCOPE_WARM_UP_REHEARSAL=0, as before 2026-12-06 noon, proc/pause-rehearsal.ts).
 * Two more with the copy helper left an ordinary thread while armed in a pause
 * (PERISCOPE_HELPER_REALTIME=0, as before 2026-12-06 evening, proc/copy-helper.ts): an agent
 * and a one-shot CLI.
 * Each rep takes its paths in a fresh order (seeded: the same for the same rep).
 *
 * Everything runs at nice -10 (--nice N to change; 0 leaves it): every thread of this process
 * (V8's own too), and so the server, agent and CLI it starts, and the target's threads.
 *
 * Usage: npx tsc -p . && node dist/bench/pause-paths.js [--n 10000] [--reps 15] [--nice N] [--v8-first]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiClient } from '../src/cli/api-client.js';
import type { ProcessSnapshot } from '../src/snapshot/snapshot-types.js';
import { captureProcess, prepareProcess } from '../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../src/spec/spec-types.js';
import {
  CLI,
  createToken,
  fleetTag,
  type Proc,
  type ServerProc,
  startAgentProc,
  startServerProc,
  tagEnv,
  tempDir,
  waitForFleet,
} from '../support/fleet.js';
import { describeMachine, loadAverage, today } from '../support/machine.js';
import { PRODUCT_PAUSE_CAP_ARGS } from '../support/pause-cap.js';
import { reniceThreads, startPauseTarget } from '../support/pause-target.js';
import { median } from '../support/stats.js';
import { formatTable } from '../support/table.js';

const run = promisify(execFile);
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg('--n') ?? 10_000);
const REPS = Number(arg('--reps') ?? 15);
const NICE = Number(arg('--nice') ?? -10);
/** Start the V8-flags agent first, 3 s before the others (its process start order apart from its flags). */
const V8_FIRST = process.argv.includes('--v8-first');
const AIM_AGENT_OVER_BARE = 1.1;
const AIM_CLI_OVER_AGENT = 1.5;
const HOST = 'bench-paths';
const HOST_NO_SETTLE = 'bench-paths-no-settle';
const HOST_IN_PAUSE = 'bench-paths-values-in-pause';
const HOST_V8 = 'bench-paths-v8-flags';
const HOST_SELF_PLACE = 'bench-paths-helper-self-placed';
const HOST_FRESH_RESERVE = 'bench-paths-fresh-reserve';
const HOST_HELPER_ORDINARY = 'bench-paths-helper-ordinary';
/** The armed copy helper an ordinary thread during the pause (proc/copy-helper.ts), as before. */
const HELPER_ORDINARY = { PERISCOPE_HELPER_REALTIME: '0' };
/**
 * The one-shot CLI's warm-up as before 2026-12-06 (issue 11): read plans learned within the
 * pause's 5 ms budget for values, 20 ms of runs of the pause's path for values, the copy helper
 * not armed during the warm-up, the pause's watchdog thread started by the pause itself, a fresh
 * reserve for the pause.
 */
const ONE_SHOT_BEFORE = {
  PERISCOPE_WARM_UP_LEARN_MS: '5',
  PERISCOPE_WARM_UP_PLANNED_MS: '20',
  PERISCOPE_WARM_UP_ARM: '0',
  PERISCOPE_WARM_UP_WATCHDOG: '0',
  PERISCOPE_POOL_RESERVE: '0',
  PERISCOPE_WARM_UP_REHEARSAL: '0',
  PERISCOPE_WARM_UP_LEARN_CAP_MS: '0',
  PERISCOPE_WARM_UP_MIN_RUNS: '0',
};
/** The one-shot CLI without the rehearsal of the pause on a throw-away child (proc/pause-rehearsal.ts). */
const ONE_SHOT_NO_REHEARSAL = { PERISCOPE_WARM_UP_REHEARSAL: '0' };
/** The V8 flags of the A/B agent: no compile jobs or GC tasks on V8's worker threads. */
const V8_FLAGS =
  '--no-concurrent-recompilation --no-concurrent-marking --no-concurrent-sweeping --no-parallel-scavenge --no-parallel-compaction --no-parallel-pointer-update --no-concurrent-array-buffer-sweeping';

/** One pause, ns. */
interface Sample {
  pause: number;
  stop: number;
  copy: number;
  values: number;
  resume: number;
  gap: number;
}
const PATHS = [
  'bare (stacks only)',
  'built-in spec, long-lived process',
  'agent',
  'one-shot CLI',
  'A/B: agent, no settle',
  'A/B: built-in spec, JS scan',
  'A/B: agent, values in pause',
  'A/B: agent, V8 single-threaded',
  'A/B: agent, helper places itself',
  'A/B: agent, fresh reserve per pause',
  'A/B: one-shot CLI, warm-up as before',
  'A/B: one-shot CLI, no rehearsal',
  'A/B: agent, helper not real-time',
  'A/B: one-shot CLI, helper not real-time',
] as const;
type Path = (typeof PATHS)[number];

const fmtMs = (ns: number): string => `${(ns / 1e6).toFixed(2)} ms`;

async function main(): Promise<void> {
  // Every thread of this process, not only the main one (setpriority is per thread): V8's
  // worker threads, started with Node, stayed at nice 0 here while the agents' (forked from
  // this thread) ran at NICE like the target's, which gave the in-process paths an edge.
  // Before anything is started: children inherit it.
  if (NICE !== 0) reniceThreads(process.pid, NICE);
  const machine = describeMachine();
  const tag = fleetTag();
  const target = await startPauseTarget(N, NICE === 0 ? undefined : NICE, 0, tagEnv(tag, HOST));
  const dataDir = tempDir('periscope-bench-paths-');
  const outDir = mkdtempSync(join(tmpdir(), 'periscope-bench-paths-out-'));
  const cliDir = join(outDir, 'store'); // the CLI's own (the server holds dataDir's store)
  let server: ServerProc | undefined;
  let agent: Proc | undefined;
  let agentNoSettle: Proc | undefined;
  let agentInPause: Proc | undefined;
  let agentV8: Proc | undefined;
  let agentSelfPlace: Proc | undefined;
  let agentFreshReserve: Proc | undefined;
  let agentHelperOrdinary: Proc | undefined;
  const samples = new Map<Path, Sample[]>(PATHS.map((p) => [p, []]));
  const add = (path: Path, s: Omit<Sample, 'gap'>, gap: number): void => {
    samples.get(path)!.push({ ...s, gap });
  };
  const phases = (p: ProcessSnapshot): Omit<Sample, 'gap'> => ({
    pause: p.pauseNs,
    stop: p.phasesNs.stop,
    copy: p.phasesNs.copy,
    values: p.phasesNs.values,
    resume: p.phasesNs.resume,
  });
  try {
    const userToken = await createToken(dataDir, 'user', 'bench');
    const agentToken = await createToken(dataDir, 'agent', 'bench-agent');
    server = await startServerProc(dataDir);
    const startV8 = (): Proc => {
      process.env.PERISCOPE_CAPTURE_V8_FLAGS = V8_FLAGS;
      const a = startAgentProc(server!.url, agentToken, HOST_V8, tag, PRODUCT_PAUSE_CAP_ARGS, HOST);
      delete process.env.PERISCOPE_CAPTURE_V8_FLAGS;
      return a;
    };
    if (V8_FIRST) {
      agentV8 = startV8();
      await new Promise((r) => setTimeout(r, 3000));
    }
    agent = startAgentProc(server.url, agentToken, HOST, tag, PRODUCT_PAUSE_CAP_ARGS);
    process.env.PERISCOPE_SETTLE_MS = '0'; // the second agent's environment only
    agentNoSettle = startAgentProc(server.url, agentToken, HOST_NO_SETTLE, tag, PRODUCT_PAUSE_CAP_ARGS, HOST);
    delete process.env.PERISCOPE_SETTLE_MS;
    process.env.PERISCOPE_VALUES_IN_PAUSE = '1'; // evaluated in the pause, as before read plans
    agentInPause = startAgentProc(server.url, agentToken, HOST_IN_PAUSE, tag, PRODUCT_PAUSE_CAP_ARGS, HOST);
    delete process.env.PERISCOPE_VALUES_IN_PAUSE;
    agentV8 ??= startV8();
    process.env.PERISCOPE_HELPER_PLACEMENT = 'self'; // the copy helper moves itself off the poster's CPU, as before
    agentSelfPlace = startAgentProc(
      server.url,
      agentToken,
      HOST_SELF_PLACE,
      tag,
      PRODUCT_PAUSE_CAP_ARGS,
      HOST,
    );
    delete process.env.PERISCOPE_HELPER_PLACEMENT;
    process.env.PERISCOPE_POOL_RESERVE = '0'; // a fresh reserve before each pause, as before
    agentFreshReserve = startAgentProc(
      server.url,
      agentToken,
      HOST_FRESH_RESERVE,
      tag,
      PRODUCT_PAUSE_CAP_ARGS,
      HOST,
    );
    delete process.env.PERISCOPE_POOL_RESERVE;
    Object.assign(process.env, HELPER_ORDINARY);
    agentHelperOrdinary = startAgentProc(
      server.url,
      agentToken,
      HOST_HELPER_ORDINARY,
      tag,
      PRODUCT_PAUSE_CAP_ARGS,
      HOST,
    );
    for (const k of Object.keys(HELPER_ORDINARY)) delete process.env[k];
    await waitForFleet(
      server.url,
      userToken,
      {
        [HOST]: [target.pid],
        [HOST_NO_SETTLE]: [target.pid],
        [HOST_IN_PAUSE]: [target.pid],
        [HOST_V8]: [target.pid],
        [HOST_SELF_PLACE]: [target.pid],
        [HOST_FRESH_RESERVE]: [target.pid],
        [HOST_HELPER_ORDINARY]: [target.pid],
      },
      120_000,
    );
    const client = new ApiClient({ server: server.url, token: userToken });
    const bare = prepareProcess(target.pid);
    const spec = prepareProcess(target.pid, effectiveSpec(EMPTY_SPEC));
    const throughAgent = async (host: string): Promise<Omit<Sample, 'gap'>> => {
      const r = await client.snapshot({ select: `pid=${target.pid},hostname=${host}` });
      const q = await client.query(
        'SELECT pause_ns, stop_ns, copy_ns, values_ns, resume_ns, error FROM processes',
        { snapshot: r.snapshotId },
      );
      const row = q.rows[0];
      if (q.rows.length !== 1 || !row || row[5] !== null)
        throw new Error(`agent snapshot failed: ${JSON.stringify(q.rows)}`);
      const [pause, stop, copy, values, resume] = row.slice(0, 5).map(Number) as number[];
      return { pause: pause!, stop: stop!, copy: copy!, values: values!, resume: resume! };
    };
    const oneShot = async (env: Record<string, string>): Promise<Omit<Sample, 'gap'>> => {
      const out = join(outDir, 'snap.json');
      await run(
        process.execPath,
        [CLI, 'snapshot', '--pid', String(target.pid), '--no-store', '--out', out, '--data', cliDir],
        { maxBuffer: 256 << 20, env: { ...process.env, ...env } },
      );
      return phases(JSON.parse(readFileSync(out, 'utf8')) as ProcessSnapshot);
    };
    const paths: Record<Path, () => Promise<Omit<Sample, 'gap'>>> = {
      'bare (stacks only)': async () => phases(captureProcess(target.pid, bare)),
      'built-in spec, long-lived process': async () => phases(captureProcess(target.pid, spec)),
      agent: async () => throughAgent(HOST),
      'A/B: agent, no settle': async () => throughAgent(HOST_NO_SETTLE),
      'A/B: agent, values in pause': async () => throughAgent(HOST_IN_PAUSE),
      'A/B: agent, V8 single-threaded': async () => throughAgent(HOST_V8),
      'A/B: agent, helper places itself': async () => throughAgent(HOST_SELF_PLACE),
      'A/B: agent, fresh reserve per pause': async () => throughAgent(HOST_FRESH_RESERVE),
      'A/B: built-in spec, JS scan': async () => {
        process.env.PERISCOPE_SCAN = 'js'; // read when the capture reserves its memory
        try {
          return phases(captureProcess(target.pid, spec));
        } finally {
          delete process.env.PERISCOPE_SCAN;
        }
      },
      'one-shot CLI': async () => oneShot({}),
      'A/B: one-shot CLI, warm-up as before': async () => oneShot(ONE_SHOT_BEFORE),
      'A/B: one-shot CLI, no rehearsal': async () => oneShot(ONE_SHOT_NO_REHEARSAL),
      'A/B: agent, helper not real-time': async () => throughAgent(HOST_HELPER_ORDINARY),
      'A/B: one-shot CLI, helper not real-time': async () => oneShot(HELPER_ORDINARY),
    };
    const failed: string[] = [];
    // Warm-up, not counted: each path's first (binary load, compile, the CLI's disk cache).
    for (const p of PATHS) await paths[p]();
    const load0 = loadAverage();
    for (let rep = 0; rep < REPS; rep++) {
      // A fresh order each rep: in a fixed rotation each path mostly follows the same other
      // one, and a path that follows an in-process pause was seen to stop slower.
      for (const p of shuffled(PATHS, rep)) {
        // On a busy machine a pause may give up (its stop over the cap): counted, taken again.
        for (let attempt = 1; ; attempt++) {
          await target.gap();
          try {
            const s = await paths[p]();
            add(p, s, (await target.gap()).maxNs);
            break;
          } catch (e) {
            failed.push(`${p}: ${(e as Error).message.slice(0, 160)}`);
            if (attempt >= 3) throw e;
          }
        }
      }
    }
    report(machine.short, `${load0} -> ${loadAverage()}`, samples);
    if (failed.length > 0)
      console.log(`\n${failed.length} samples failed and were taken again:\n${failed.join('\n')}`);
  } finally {
    await agent?.stop();
    await agentNoSettle?.stop();
    await agentInPause?.stop();
    await agentV8?.stop();
    await agentSelfPlace?.stop();
    await agentFreshReserve?.stop();
    await agentHelperOrdinary?.stop();
    await server?.proc.stop();
    await target.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** The paths in an order drawn from `seed` (a small LCG: the same order for the same seed). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = (seed + 1) * 2654435761;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function report(machine: string, load: string, samples: Map<Path, Sample[]>): void {
  const med = (p: Path, k: keyof Sample): number => median(samples.get(p)!.map((s) => s[k]));
  console.log(
    `pause-paths: ${machine}; ${N} goroutines; ${REPS} reps each, interleaved; nice ${NICE}; load ${load}; ${today()}\n`,
  );
  const bare = med('bare (stacks only)', 'pause');
  const agentPause = med('agent', 'pause');
  console.log(
    formatTable([
      ['path (medians)', 'pause', 'stop', 'copy', 'values', 'resume', 'ticker gap', 'pause / bare'],
      ...PATHS.map((p) => [
        p,
        fmtMs(med(p, 'pause')),
        fmtMs(med(p, 'stop')),
        fmtMs(med(p, 'copy')),
        fmtMs(med(p, 'values')),
        fmtMs(med(p, 'resume')),
        fmtMs(med(p, 'gap')),
        `${(med(p, 'pause') / bare).toFixed(2)}x`,
      ]),
    ]),
  );
  const agentRatio = agentPause / bare;
  const cliRatio = med('one-shot CLI', 'pause') / agentPause;
  console.log(
    `\nagent / bare: ${agentRatio.toFixed(2)}x (aim <= ${AIM_AGENT_OVER_BARE}x: ${agentRatio <= AIM_AGENT_OVER_BARE ? 'met' : 'NOT met'})` +
      `\none-shot CLI / agent: ${cliRatio.toFixed(2)}x (aim <= ${AIM_CLI_OVER_AGENT}x: ${cliRatio <= AIM_CLI_OVER_AGENT ? 'met' : 'NOT met'})`,
  );
  const ab = (a: Path, b: Path, k: keyof Sample): string =>
    `${fmtMs(med(a, k))} vs ${fmtMs(med(b, k))} (${(med(b, k) / med(a, k)).toFixed(2)}x)`;
  console.log(
    `\nA/B, same run: agent stop with / without the settle: ${ab('agent', 'A/B: agent, no settle', 'stop')}` +
      `\nA/B, same run: built-in spec values with SIMD / JS scan: ${ab('built-in spec, long-lived process', 'A/B: built-in spec, JS scan', 'values')}` +
      `\nA/B, same run: agent values by read plan / evaluated in the pause: ${ab('agent', 'A/B: agent, values in pause', 'values')}` +
      `\nA/B, same run: agent pause by read plan / evaluated in the pause: ${ab('agent', 'A/B: agent, values in pause', 'pause')}` +
      `\nA/B, same run: agent stop with default / single-threaded V8: ${ab('agent', 'A/B: agent, V8 single-threaded', 'stop')}` +
      `\nA/B, same run: agent copy with the helper placed by the poster / by itself: ${ab('agent', 'A/B: agent, helper places itself', 'copy')}` +
      `\nA/B, same run: agent pause with the helper placed by the poster / by itself: ${ab('agent', 'A/B: agent, helper places itself', 'pause')}` +
      `\nA/B, same run: agent pause with the reserve kept / fresh per pause: ${ab('agent', 'A/B: agent, fresh reserve per pause', 'pause')}` +
      `\nA/B, same run: agent stop with the reserve kept / fresh per pause: ${ab('agent', 'A/B: agent, fresh reserve per pause', 'stop')}` +
      `\nA/B, same run: agent copy with the reserve kept / fresh per pause: ${ab('agent', 'A/B: agent, fresh reserve per pause', 'copy')}` +
      (['pause', 'stop', 'copy', 'values'] as const)
        .map(
          (k) =>
            `\nA/B, same run: one-shot CLI ${k} with this warm-up / as before: ${ab('one-shot CLI', 'A/B: one-shot CLI, warm-up as before', k)}`,
        )
        .join('') +
      (['pause', 'stop', 'copy', 'values', 'resume'] as const)
        .map(
          (k) =>
            `\nA/B, same run: one-shot CLI ${k} with / without the rehearsal on a throw-away child: ${ab('one-shot CLI', 'A/B: one-shot CLI, no rehearsal', k)}`,
        )
        .join('') +
      (['pause', 'copy'] as const)
        .map(
          (k) =>
            `\nA/B, same run: agent ${k} with the helper real-time / ordinary: ${ab('agent', 'A/B: agent, helper not real-time', k)}` +
            `\nA/B, same run: one-shot CLI ${k} with the helper real-time / ordinary: ${ab('one-shot CLI', 'A/B: one-shot CLI, helper not real-time', k)}`,
        )
        .join(''),
  );
  console.log('\nrows for docs/performance.md:');
  console.log(
    `| Pause of a snapshot through server and agent, built-in spec, ${N} goroutines, median of ${REPS} | ${fmtMs(agentPause)} (values ${fmtMs(med('agent', 'values'))}) | bare pause (stacks only, long-lived process), same run: ${fmtMs(bare)} | ${agentRatio.toFixed(2)}x (aim <= ${AIM_AGENT_OVER_BARE}x) | ${machine}; load ${load} | ${today()} |`,
  );
  console.log(
    `| Pause of a one-shot \`periscope snapshot --pid\`, built-in spec, ${N} goroutines, median of ${REPS} | ${fmtMs(med('one-shot CLI', 'pause'))} | through server and agent, same run: ${fmtMs(agentPause)} | ${cliRatio.toFixed(2)}x (aim <= ${AIM_CLI_OVER_AGENT}x) | ${machine}; load ${load} | ${today()} |`,
  );
}

await main();
