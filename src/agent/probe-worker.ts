/**
 * The agent's probe thread: it compiles the probes each process should have for that
 * process's binary (once per binary and definition), attaches them, moves records out of the
 * kernel's ring buffers at their pace (every DRAIN_MS), decodes them after, and hands events,
 * per-interval counters, histograms and notices to the main thread; it measures each probe's
 * cost and switches off a probe that costs a process more than its CPU share. It is apart
 * from the capture thread, which may be terminated mid-request: probes must not go with it.
 */
import { parentPort } from 'node:worker_threads';
import { describeError } from '../common/errors.js';
import { enableRunTimeStats } from '../probes/bpf/prog-stats.js';
import { syscalls } from '../probes/bpf/syscalls.js';
import { type CompiledProbe, compileProbe } from '../probes/compile/compile-probe.js';
import { cleanTracefs } from '../probes/tracefs/tracefs.js';
import type { ProbeNotice, WireProbeEvent } from '../protocol/messages.js';
import { threadBinaries } from '../snapshot/binary-cache.js';
import { BinaryDiskCache } from '../snapshot/binary-disk-cache.js';
import { probeDefinitionKey } from '../spec/probe-parse.js';
import type { ProbeEntry } from '../spec/spec-types.js';
import { isTraceProbe } from '../spec/trace-probes.js';
import { ProcessProbes } from './probe-process.js';
import { BpfSession, type ProbeSession } from './probe-session.js';
import { prepareTracefs, TracefsSession } from './probe-session-tracefs.js';
import { probeSpecOf } from './probe-spec-of.js';
import type { ProbeSetup, ProbeThreadReply, ProbeThreadRequest, ProbeWant } from './probe-worker-protocol.js';

/** How often records are moved out of the ring buffers, ms. */
const DRAIN_MS = 20;
/** How often events go to the main thread, ms (or sooner, at FLUSH_EVENTS). */
const FLUSH_MS = 250;
const FLUSH_EVENTS = 2000;
/** How often counters and costs are read, ms. */
const INTERVAL_MS = 1000;
/** Records decoded per process per drain (the rest wait for the next one). */
const DECODE_PER_TICK = 4000;

let setup: ProbeSetup | undefined;
const procs = new Map<number, ProcessProbes>();
/** Compiled probes (or why not) per binary and definition. */
const compiled = new Map<string, CompiledProbe | string>();
let statsFd: number | undefined;
let events: WireProbeEvent[] = [];
let notices: ProbeNotice[] = [];
let lastFlush = performance.now();
let lastInterval = performance.now();
let stopping = false;

function post(m: ProbeThreadReply): void {
  parentPort?.postMessage(m);
}

function compileFor(
  pid: number,
  p: ProbeEntry,
): {
  probe?: CompiledProbe;
  error?: string;
  bin: { buildId?: string; executable: string; path: string; bias: number };
} {
  const { bin, image } = threadBinaries.forProcess(pid);
  const where = {
    ...(bin.buildId ? { buildId: bin.buildId } : {}),
    executable: image.path,
    path: image.path,
    bias: image.bias.value,
  };
  const key = `${bin.buildId ?? image.path}\u0000${probeDefinitionKey(p)}`;
  let c = compiled.get(key);
  if (c === undefined) {
    try {
      // tracefs cannot test a Jcc's flags before recording: its return probes stay on the RETs.
      c = compileProbe(bin, probeSpecOf(p, setup!.limits.defaultRatePerProbe), {
        returnSites: setup!.backend === 'tracefs' ? 'ret' : 'emulated',
      });
      if (c.recordBytes > setup!.limits.maxEventBytes)
        c = `its events are ${c.recordBytes} bytes, over the agent's limit of ${setup!.limits.maxEventBytes} bytes per event (lower the probe's limits: maxString, maxElements, maxDepth, or capture less)`;
    } catch (e) {
      c = describeError(e);
    }
    threadBinaries.persist(bin); // what compiling learned, for the next agent (with --cache-dir)
    if (compiled.size > 512) compiled.clear();
    compiled.set(key, c);
  }
  return typeof c === 'string' ? { error: c, bin: where } : { probe: c, bin: where };
}

async function openSession(
  p: ProcessProbes,
  list: CompiledProbe[],
  path: string,
  bias: number,
): Promise<ProbeSession> {
  if (setup!.backend === 'tracefs')
    return TracefsSession.attach(list, {
      pid: p.pid,
      path,
      process: p.process,
      bias,
      trapNs: setup!.trapNs,
      redaction: p.redaction.redactor,
    });
  if (statsFd === undefined)
    try {
      statsFd = enableRunTimeStats();
    } catch (e) {
      log(
        `BPF run-time statistics are not available (${describeError(e)}); probe costs are estimated from hits`,
      );
      statsFd = -1;
    }
  return BpfSession.attach(list, {
    pid: p.pid,
    path,
    process: p.process,
    bias,
    tag: setup!.tag,
    trapNs: setup!.trapNs,
    measured: () => statsFd !== undefined && statsFd >= 0,
    redaction: p.redaction.redactor,
  });
}

/** The definition keys of `attached` (names of `want`), by name. */
function definitions(want: readonly ProbeEntry[], attached: readonly CompiledProbe[]): Map<string, string> {
  const keys = new Map(want.map((w) => [w.name, probeDefinitionKey(w)]));
  return new Map(attached.map((c) => [c.spec.name, keys.get(c.spec.name)!]));
}

/**
 * Changes a running session in place: only the probes added, removed or changed are attached
 * or detached; the others keep their programs, counters and every call. False when the
 * session cannot (tracefs, no free slot, deeper stacks): then the set is placed again.
 */
async function changeInPlace(p: ProcessProbes, want: readonly ProbeEntry[], key: string): Promise<boolean> {
  const s = p.session;
  // Other redaction rules: every probe's events decode differently, so the set is placed again.
  if (!s?.change || p.placedRedaction !== p.redaction.key) return false;
  const wanted = new Map(want.map((w) => [w.name, probeDefinitionKey(w)]));
  const removed = [...p.running].filter(([n, k]) => wanted.get(n) !== k).map(([n]) => n);
  const errors: Record<string, string> = {};
  const add: CompiledProbe[] = [];
  for (const w of want) {
    if (p.running.get(w.name) === wanted.get(w.name)) continue;
    try {
      const c = compileFor(p.pid, w);
      if (c.probe) add.push(c.probe);
      else errors[w.name] = c.error!;
    } catch (e) {
      errors[w.name] = describeError(e);
    }
  }
  // The last counts of what goes, and the events it made, before it goes.
  if (removed.length > 0) {
    drainAll(p);
    collectInterval(p);
  }
  const r = await s.change(add, removed);
  if (r === false) return false;
  for (const [name, e] of Object.entries(r.errors)) errors[name] = describeError(e);
  p.errors = errors;
  const running = new Map(p.running);
  for (const n of removed) running.delete(n);
  for (const c of add) if (!(c.spec.name in r.errors)) running.set(c.spec.name, wanted.get(c.spec.name)!);
  p.changed(key, running, removed);
  return true;
}

/** Brings a process's probes to what is wanted there (minus those switched off). */
async function reconcile(p: ProcessProbes): Promise<void> {
  const want = p.wanted.filter((w) => !p.switchedOff.has(w.name));
  const key = `${p.redaction.key}\n${want.map(probeDefinitionKey).join('\n')}`;
  if (key === p.runningKey && (p.session || want.length === 0)) return;
  if (want.length > 0 && !stopping && (await changeInPlace(p, want, key))) return;
  if (p.session) {
    drainAll(p);
    collectInterval(p);
    const old = p.session;
    p.started(undefined, '');
    await old.close();
  }
  p.errors = {};
  if (want.length === 0 || stopping) {
    if (p.wanted.length === 0) procs.delete(p.pid);
    return;
  }
  const ok: CompiledProbe[] = [];
  let where: ReturnType<typeof compileFor>['bin'] | undefined;
  for (const w of want) {
    try {
      const c = compileFor(p.pid, w);
      where = c.bin;
      if (c.probe) ok.push(c.probe);
      else p.errors[w.name] = c.error!;
    } catch (e) {
      p.errors[w.name] = describeError(e);
    }
  }
  if (where)
    p.binary = { ...(where.buildId ? { buildId: where.buildId } : {}), executable: where.executable };
  if (ok.length === 0 || !where) {
    p.started(undefined, key);
    return;
  }
  try {
    p.started(await openSession(p, ok, where.path, where.bias), key, definitions(want, ok));
  } catch (e) {
    // Find which ones fail by themselves; attach the rest.
    const good: CompiledProbe[] = [];
    for (const c of ok) {
      try {
        await (await openSession(p, [c], where.path, where.bias)).close();
        good.push(c);
      } catch (e1) {
        p.errors[c.spec.name] = describeError(e1);
      }
    }
    if (good.length === 0 || good.length === ok.length) {
      if (good.length === ok.length) for (const c of ok) p.errors[c.spec.name] = describeError(e);
      p.started(undefined, key);
      return;
    }
    try {
      p.started(await openSession(p, good, where.path, where.bias), key, definitions(want, good));
    } catch (e2) {
      for (const c of good) p.errors[c.spec.name] = describeError(e2);
      p.started(undefined, key);
    }
  }
}

function schedule(p: ProcessProbes): void {
  p.chain = p.chain
    .then(() => reconcile(p))
    .catch((e: unknown) => log(`probes on process ${p.pid}: ${describeError(e)}`))
    .then(() => sendStatus());
}

function sendStatus(): void {
  const fds: number[] = [];
  const processes = [...procs.values()].map((p) => {
    const ids = p.session?.kernelIds() ?? { programIds: [], linkIds: [] };
    fds.push(...(p.session?.fds() ?? []));
    return {
      pid: p.pid,
      key: p.key,
      process: p.process,
      ...(p.binary?.buildId ? { buildId: p.binary.buildId } : {}),
      executable: p.binary?.executable ?? '',
      attached: [...(p.session?.names ?? [])],
      errors: { ...p.errors },
      ...ids,
    };
  });
  post({ op: 'fds', fds });
  post({ op: 'status', processes });
  if (statsFd !== undefined && statsFd >= 0 && ![...procs.values()].some((p) => p.session)) {
    syscalls().close(statsFd);
    statsFd = undefined;
  }
}

function drainAll(p: ProcessProbes): void {
  const s = p.session;
  if (!s) return;
  s.drain(Number.POSITIVE_INFINITY);
  while (s.queued > 0)
    s.decode(DECODE_PER_TICK, (e) => (isTraceProbe(e.probe) || p.admit(e)) && events.push(e));
}

function collectInterval(p: ProcessProbes): void {
  const { counts, histograms, over } = p.interval();
  if (counts.length > 0 || histograms.length > 0)
    post({ op: 'batch', events: [], counts, histograms, notices: [] });
  for (const o of over) {
    p.switchedOff.set(o.probe, o.reason);
    notices.push({
      probe: o.probe,
      process: p.process,
      timeUs: Date.now() * 1000,
      kind: 'circuit-breaker',
      message: `switched off: ${o.reason}`,
    });
    post({ op: 'switched-off', pid: p.pid, key: p.key, probe: o.probe, reason: o.reason });
    schedule(p);
  }
}

function flush(): void {
  if (events.length === 0 && notices.length === 0) return;
  post({ op: 'batch', events, counts: [], histograms: [], notices });
  events = [];
  notices = [];
}

function tick(): void {
  if (stopping) return;
  for (const p of procs.values()) {
    const s = p.session;
    if (!s) continue;
    try {
      s.drain(Number.POSITIVE_INFINITY);
      s.decode(DECODE_PER_TICK, (e) => (isTraceProbe(e.probe) || p.admit(e)) && events.push(e));
    } catch (e) {
      log(`probes on process ${p.pid}: ${describeError(e)}`);
    }
  }
  const now = performance.now();
  if (now - lastInterval >= INTERVAL_MS) {
    lastInterval = now;
    for (const p of procs.values())
      try {
        collectInterval(p);
      } catch (e) {
        log(`probe counters of process ${p.pid}: ${describeError(e)}`);
      }
  }
  if (events.length >= FLUSH_EVENTS || now - lastFlush >= FLUSH_MS) {
    lastFlush = now;
    flush();
  }
  setTimeout(tick, DRAIN_MS);
}

function log(line: string): void {
  post({ op: 'log', line });
}

function want(m: ProbeWant): void {
  let p = procs.get(m.pid);
  if (!p) {
    if (m.probes.length === 0) return;
    p = new ProcessProbes(m.pid, m.key, m.process, setup!.limits.maxEventsPerProcess);
    procs.set(m.pid, p);
  }
  p.wanted = m.probes;
  p.setRedaction(m.redaction, m.programs ?? []);
  // A probe no longer wanted may come back later: its breaker verdict does not follow it.
  for (const name of [...p.switchedOff.keys()])
    if (!m.probes.some((w) => w.name === name)) p.switchedOff.delete(name);
  schedule(p);
}

async function stop(): Promise<void> {
  const all = [...procs.values()];
  for (const p of all) p.wanted = [];
  await Promise.all(all.map((p) => p.chain));
  for (const p of all) {
    drainAll(p);
    collectInterval(p);
  }
  flush();
  stopping = true;
  await Promise.all(all.map((p) => p.session?.close()));
  procs.clear();
  if (setup?.backend === 'tracefs')
    try {
      cleanTracefs(); // the instance too
    } catch (e) {
      log(`tracefs: ${describeError(e)}`);
    }
  sendStatus();
  post({ op: 'stopped' });
}

parentPort?.on('message', (m: ProbeThreadRequest) => {
  switch (m.op) {
    case 'setup':
      setup = m;
      if (m.binaryCacheDir)
        threadBinaries.useDisk(
          new BinaryDiskCache({ dir: m.binaryCacheDir, log: (line) => post({ op: 'cache-log', line }) }),
        );
      if (setup.backend === 'tracefs')
        try {
          prepareTracefs();
        } catch (e) {
          log(`tracefs: could not create Periscope's instance: ${describeError(e)}`);
        }
      setTimeout(tick, DRAIN_MS);
      return;
    case 'want':
      if (setup && !stopping) want(m);
      return;
    case 'stop':
      void stop();
      return;
  }
});
