/**
 * The agent's capture thread: prepares and captures processes off the main thread, so the
 * WebSocket stays responsive while a big binary loads or a big snapshot decodes, and so a
 * process that hangs us can be abandoned by terminating this thread (its ptrace tracees are
 * then released by the kernel). One request at a time; results are encoded here (JSON,
 * deflated when large) and handed back as bytes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { deflateSync } from 'node:zlib';
import { describeError, PeriscopeError } from '../common/errors.js';
import { collectGarbageNow } from '../common/gc.js';
import type { GoBinary } from '../gobinary/go-binary.js';
import { executableImage } from '../proc/maps.js';
import { ownTid, settleOwnThreads } from '../proc/own-threads.js';
import { poolReserves, releaseReserves, startCopyHelperNow } from '../proc/vm-reader.js';
import type { BinaryCheck } from '../protocol/messages.js';
import { encodeSnapshot } from '../protocol/snapshot-wire.js';
import { binaryAt, binaryFor, cachedBinaries, threadBinaries } from '../snapshot/binary-cache.js';
import { BinaryDiskCache } from '../snapshot/binary-disk-cache.js';
import { describeFunction } from '../snapshot/function-lines.js';
import { type CopiedProcess, pauseAndCopy, settleMs, warmUpCapture } from '../snapshot/paused-capture.js';
import { checkSpecFit } from '../snapshot/spec-fit.js';
import {
  captureProcess,
  finishSnapshot,
  type PreparedProcess,
  prepareProcess,
} from '../snapshot/take-snapshot.js';
import { type EffectiveSpec, effectiveSpecOfText } from '../spec/effective-spec.js';
import { specProbes } from '../spec/trace-probes.js';
import { DEFAULT_PROBE_LIMITS } from './probe-runner.js';
import { probeProblems } from './probe-spec-of.js';
import type {
  CaptureThreadData,
  CheckTarget,
  WorkerCacheLog,
  WorkerHello,
  WorkerReply,
  WorkerRequest,
} from './worker-protocol.js';

const prepared = new Map<string, PreparedProcess>();
/** What `copy` paused and copied, or the error it met, per slot, until its `capture`. */
const copies = new Map<string, { copied: CopiedProcess } | { error: unknown }>();

/** Most bytes of copies held at once: past it, the remaining processes are captured whole. */
const MAX_COPIED_BYTES = 256 << 20;
const specs = new Map<number, EffectiveSpec>();

// The memory each pause copies into is kept for the next one (proc/vm-reader.ts), released
// below once the snapshots read into it are encoded. PERISCOPE_POOL_RESERVE=0 makes a fresh
// one per pause, as before 2026-12-06 (for comparisons).
if (process.env.PERISCOPE_POOL_RESERVE !== '0') poolReserves();

// Binaries start from what an earlier agent (or thread) learned of them, and what is learned
// here is kept for the next (agent --cache-dir); the cache's lines go to the main thread.
{
  const dir = (workerData as CaptureThreadData | null)?.binaryCacheDir;
  if (dir)
    threadBinaries.useDisk(
      new BinaryDiskCache({
        dir,
        log: (cacheLog) => parentPort?.postMessage({ cacheLog } satisfies WorkerCacheLog),
      }),
    );
}

function specFor(version: number, text: string): EffectiveSpec {
  let spec = specs.get(version);
  if (!spec) {
    spec = effectiveSpecOfText(text, `spec version ${version}`);
    if (specs.size >= 4) specs.delete(specs.keys().next().value as number);
    specs.set(version, spec);
  }
  return spec;
}

/** The binary of a target: its process's, or the file where it was if it still has the build ID. */
function targetBinary(t: CheckTarget): GoBinary | undefined {
  const bin =
    t.pid !== undefined
      ? binaryFor(executableImage(t.pid).elf)
      : t.path && t.buildId
        ? binaryAt(t.path, t.buildId)
        : undefined;
  if (bin) threadBinaries.persist(bin); // what a check or description learned, for the next agent
  return bin;
}

/** Checks the spec against one target binary; what cannot be checked says why. */
function checkTarget(t: CheckTarget, spec: EffectiveSpec): BinaryCheck {
  const base = {
    ...(t.buildId ? { buildId: t.buildId } : {}),
    executable: t.executable,
    ...(t.goVersion ? { goVersion: t.goVersion } : {}),
    processes: t.processes,
  };
  let bin: GoBinary | undefined;
  try {
    bin = targetBinary(t);
    if (!bin)
      return {
        ...base,
        problems: [],
        functionsAbsent: [],
        notChecked: `${t.path ?? t.executable} is no longer there with build ID ${t.buildId ?? '?'}`,
      };
    const fit = checkSpecFit(bin, spec);
    const buildId = bin.buildId ?? t.buildId;
    const probes = specProbes(spec).filter((p) => t.probes?.includes(p.name));
    const probeErrors = probes.flatMap((p) =>
      probeProblems(bin!, p, DEFAULT_PROBE_LIMITS.defaultRatePerProbe),
    );
    return {
      ...base,
      ...(buildId ? { buildId } : {}),
      problems: [...fit.errors, ...probeErrors],
      functionsAbsent: fit.functionsAbsent,
      nearest: fit.nearest,
    };
  } catch (e) {
    return { ...base, problems: [], functionsAbsent: [], notChecked: describeError(e) };
  }
}

function handle(req: WorkerRequest): WorkerReply {
  const t0 = performance.now();
  switch (req.op) {
    case 'prepare': {
      prepared.set(
        req.slot,
        prepareProcess(req.pid, specFor(req.specVersion, req.spec), undefined, req.programs),
      );
      return { id: req.id, ok: true, elapsedMs: performance.now() - t0, binaries: cachedBinaries() };
    }
    case 'copy': {
      const done: string[] = [];
      const plans = req.slots.flatMap((s) => {
        const plan = prepared.get(s.slot);
        return plan ? [{ ...s, plan }] : [];
      });
      for (const { pid, plan } of plans) warmUpCapture(pid, plan);
      collectGarbageNow(); // once, before all the pauses
      settleOwnThreads(settleMs()); // and the background work it set off, once
      let held = 0;
      for (const { slot, pid, plan } of plans) {
        if (held > MAX_COPIED_BYTES) break;
        try {
          const cap = req.pauseCapMs !== undefined ? { pauseCapMs: req.pauseCapMs } : {};
          const copied = pauseAndCopy(pid, plan, cap, { collect: false, settle: false });
          held += copied.bytesRead;
          copies.set(slot, { copied });
        } catch (e) {
          copies.set(slot, { error: e });
        }
        done.push(slot);
      }
      return {
        id: req.id,
        ok: true,
        elapsedMs: performance.now() - t0,
        binaries: cachedBinaries(),
        copied: done,
      };
    }
    case 'capture': {
      const plan = prepared.get(req.slot);
      if (!plan) return fail(req.id, 'internal', 'not prepared in this capture thread');
      const early = req.noPause ? undefined : copies.get(req.slot);
      copies.delete(req.slot);
      if (early && 'error' in early) throw early.error;
      const startedAt = early ? early.copied.startedAtMs : Date.now();
      const snap = early
        ? finishSnapshot(early.copied)
        : captureProcess(req.pid, plan, {
            noPause: req.noPause,
            ...(req.pauseCapMs !== undefined ? { pauseCapMs: req.pauseCapMs } : {}),
          });
      const json = encodeSnapshot(snap);
      // Encoded: nothing refers to what the pauses copied any more, unless another process's
      // copy still waits for its `capture`.
      if (copies.size === 0) releaseReserves();
      const deflated = json.length > req.deflateOver;
      const bytes = deflated ? deflateSync(json, { level: 1 }) : Buffer.from(json, 'utf8');
      return {
        id: req.id,
        ok: true,
        startedAt,
        pauseNs: snap.pauseNs,
        goroutines: snap.goroutines.length,
        captureErrors: snap.captureErrors?.length ?? 0,
        deflated,
        bytes,
        elapsedMs: performance.now() - t0,
        binaries: cachedBinaries(),
      };
    }
    case 'check': {
      const spec = effectiveSpecOfText(req.spec, req.source);
      const checks = req.targets.map((t) => checkTarget(t, spec));
      return { id: req.id, ok: true, elapsedMs: performance.now() - t0, binaries: cachedBinaries(), checks };
    }
    case 'describe': {
      const bin = targetBinary(req.target);
      if (!bin)
        return fail(
          req.id,
          'not-found',
          `${req.target.path ?? req.target.executable} is no longer there with build ID ${req.target.buildId ?? '?'}`,
        );
      const lines = describeFunction(bin, req.function);
      return { id: req.id, ok: true, elapsedMs: performance.now() - t0, binaries: cachedBinaries(), lines };
    }
    case 'drop': {
      for (const s of req.slots) {
        prepared.delete(s);
        copies.delete(s);
      }
      return { id: req.id, ok: true, elapsedMs: 0, binaries: cachedBinaries() };
    }
  }
}

function fail(id: number, kind: string, message: string): WorkerReply {
  return { id, ok: false, kind, message, binaries: cachedBinaries() };
}

function errorReply(id: number, e: unknown): WorkerReply {
  if (e instanceof PeriscopeError) return fail(id, e.kind, e.message);
  if (e instanceof RangeError && /string length/i.test(e.message))
    return fail(id, 'too-large', 'the snapshot is too large to encode (over 512 MB of JSON)');
  const msg = e instanceof Error ? (e.message.split('\n')[0] ?? String(e)) : String(e);
  return fail(id, 'internal', msg);
}

parentPort?.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = handle(req);
  } catch (e) {
    reply = errorReply(req.id, e);
  }
  // Copied, not transferred: small Buffers share Node's pool, which must not be detached.
  parentPort?.postMessage(reply);
});

// The copy helper is loaded before the hello, so before any budget runs: this thread,
// terminated past a budget while its helper still loaded koffi, took the agent down with it
// (SIGABRT; seen in agent/limits at load 15, a 400 ms capture budget). Not ready within 20 s
// (a very busy machine), the first captures wait for it as before (paused-capture.ts).
startCopyHelperNow(20_000);
// Always said: the budgets of the calls waiting count from it (capture-thread.ts).
parentPort?.postMessage({ hello: true, tid: ownTid() } satisfies WorkerHello);
