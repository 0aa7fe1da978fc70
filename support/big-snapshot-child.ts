/**
 * Child process of bench/big-snapshot: one snapshot of a large process in a fresh Node
 * process, as an agent's capture thread takes it (prepare, pause and copy, decode, encode
 * for the wire), then what the server does with it (parse, expand, optionally store), with
 * the time of each phase, the memory held after each (after a full collection, with the
 * snapshot still referenced) and the peak RSS. Prints one JSON line.
 *
 * Usage: node --expose-gc big-snapshot-child.js PID [--builtin-spec] [--ingest DIR]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { decodeSnapshot, encodeSnapshot } from '../src/protocol/snapshot-wire.js';
import { pauseAndCopy, warmUpCapture } from '../src/snapshot/paused-capture.js';
import { finishSnapshot, prepareProcess } from '../src/snapshot/take-snapshot.js';
import { effectiveSpec } from '../src/spec/effective-spec.js';
import { EMPTY_SPEC } from '../src/spec/spec-types.js';
import { DuckDBStore } from '../src/store/duckdb-store.js';

/** What the child prints: times in ms, memory in bytes. */
export interface BigSnapshotResult {
  readonly goroutines: number;
  readonly bytesRead: number;
  readonly pauseMs: number;
  /** finishSnapshot: from the resume to the decoded ProcessSnapshot (values after, sockets, stacks). */
  readonly decodeMs: number;
  /** CPU time of this process (every thread: the collector's too) over the decode. */
  readonly decodeCpuMs: number;
  /** The snapshot's own decode figure (decodeNs). */
  readonly decodeOwnMs: number;
  /** Heap + array buffers held with the copy alive (before decoding), over the baseline. */
  readonly heldCopyBytes: number;
  /** Held with the decoded snapshot alive and the copy dropped. */
  readonly heldSnapshotBytes: number;
  readonly encodeMs: number;
  readonly wireBytes: number;
  readonly deflateMs: number;
  readonly deflatedBytes: number;
  /** The server's side: JSON.parse + decodeSnapshot. */
  readonly parseMs: number;
  readonly expandMs: number;
  readonly heldServerBytes: number;
  readonly ingestMs: number;
  /** VmHWM of this process over the agent's side: prepare to the deflated wire form. */
  readonly peakRssBytes: number;
  /** VmHWM over the server's side (reset in between): parse, expand, ingest. */
  readonly serverPeakRssBytes: number;
  /** VmRSS after prepare (binary loaded): the floor the snapshot adds to. */
  readonly preparedRssBytes: number;
}

function status(field: string): number {
  const text = readFileSync('/proc/self/status', 'utf8');
  return 1024 * Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
}

/** Heap and array buffers in use after a full collection (run with --expose-gc). */
function held(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function main(): Promise<void> {
  const pid = Number(process.argv[2]);
  const spec = process.argv.includes('--builtin-spec') ? effectiveSpec(EMPTY_SPEC) : undefined;
  const i = process.argv.indexOf('--ingest');
  const ingestDir = i > 0 ? process.argv[i + 1] : undefined;

  const plan = prepareProcess(pid, spec);
  const base = held();
  warmUpCapture(pid, plan);
  const preparedRssBytes = status('VmRSS');

  // A cap far above the pause: on a busy machine the default one cuts the copy short, and
  // the decode of a partial snapshot is less work than the figure is about.
  let copied: ReturnType<typeof pauseAndCopy> | undefined = pauseAndCopy(pid, plan, { pauseCapMs: 5000 });
  const heldCopyBytes = held() - base;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const snap = finishSnapshot(copied);
  const decodeMs = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  const decodeCpuMs = (c1.user + c1.system) / 1000;
  copied = undefined;
  const heldSnapshotBytes = held() - base;

  const t1 = performance.now();
  let json: string | undefined = encodeSnapshot(snap);
  const encodeMs = performance.now() - t1;
  const wireBytes = json.length;
  const t2 = performance.now();
  const deflated = deflateSync(json, { level: 1 });
  const deflateMs = performance.now() - t2;
  const peakRssBytes = status('VmHWM');
  writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM: the server side's peak apart

  const t3 = performance.now();
  let parsed: unknown = JSON.parse(json);
  const parseMs = performance.now() - t3;
  json = undefined;
  const t4 = performance.now();
  const serverSide = decodeSnapshot(parsed);
  const expandMs = performance.now() - t4;
  parsed = undefined;
  const heldServerBytes = held() - base - heldSnapshotBytes;

  let ingestMs = 0;
  if (ingestDir) {
    const store = await DuckDBStore.open(ingestDir);
    const t5 = performance.now();
    await store.addSnapshot({ processes: [{ hostname: 'bench', snapshot: serverSide }], specText: '' });
    ingestMs = performance.now() - t5;
    store.close();
  }

  const result: BigSnapshotResult = {
    goroutines: snap.goroutines.length,
    bytesRead: snap.bytesRead,
    pauseMs: snap.pauseNs / 1e6,
    decodeMs,
    decodeCpuMs,
    decodeOwnMs: snap.decodeNs / 1e6,
    heldCopyBytes,
    heldSnapshotBytes,
    encodeMs,
    wireBytes,
    deflateMs,
    deflatedBytes: deflated.length,
    parseMs,
    expandMs,
    heldServerBytes,
    ingestMs,
    peakRssBytes,
    serverPeakRssBytes: status('VmHWM'),
    preparedRssBytes,
  };
  if (snap.partial) throw new Error(`the snapshot is partial: ${snap.partial.reason}`);
  if (serverSide.goroutines.length !== snap.goroutines.length)
    throw new Error('the server side lost goroutines');
  console.log(JSON.stringify(result));
}

await main();
