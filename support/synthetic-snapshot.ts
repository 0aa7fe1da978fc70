/**
 * A synthetic process snapshot for the ingest benchmark: N goroutines of F frames each over a
 * few hundred distinct stacks, statuses and wait reasons in realistic proportions, and values
 * captured on two spec'd functions (an HTTP handler and a database call beneath it).
 */
import { addr } from '../src/common/address.js';
import type { Frame } from '../src/goruntime/goroutines/index.js';
import type { ProcessSnapshot, SnapshotGoroutine } from '../src/snapshot/snapshot-types.js';

/** The spec that matches the synthetic captures. */
export const SYNTHETIC_SPEC = `functions:
  - function: main.(*Server).handle
    table: handle
    capture:
      req_id: req.ID
      path: req.URL.Path
      user: req.User
  - function: database/sql.(*DB).QueryContext
    table: dbq
    capture:
      req_id: ctx.Value("req")
      sql: query
`;

const STATUSES: [string, string | undefined][] = [
  ['waiting', 'chan receive'],
  ['waiting', 'IO wait'],
  ['waiting', 'select'],
  ['waiting', 'sync.Mutex.Lock'],
  ['runnable', undefined],
  ['running', undefined],
  ['syscall', undefined],
];

/** A deterministic pseudo-random generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Builds the snapshot: `goroutines` goroutines with `frames` frames each. */
export function syntheticSnapshot(goroutines: number, frames: number, stacks = 300): ProcessSnapshot {
  const rand = rng(42);
  const shapes = Array.from({ length: stacks }, (_, s) =>
    Array.from({ length: frames }, (_, d) => {
      const fn =
        d === frames - 1
          ? 'runtime.goexit'
          : d === frames - 3 && s % 2 === 0
            ? 'main.(*Server).handle'
            : d === 2 && s % 3 === 0
              ? 'database/sql.(*DB).QueryContext'
              : `pkg${s % 37}.fn${(s * 7 + d) % 53}`;
      return { function: fn, file: `/src/pkg${s % 37}/file${d % 5}.go`, line: 10 + ((s * 13 + d * 7) % 400) };
    }),
  );
  // As a decode makes them: the goroutines of one stack shape share its frames.
  const shared = new Map<number, Frame[]>();
  const framesOf = (s: number): Frame[] => {
    let frames = shared.get(s);
    if (!frames) {
      frames = shapes[s]!.map((f, d) => ({
        function: f.function,
        file: f.file,
        line: f.line,
        pc: addr(0x400000 + ((s * 97 + d * 13) % 100000) * 16),
        entry: addr(0x400000 + ((s * 97 + d * 13) % 100000) * 16 - 32),
        spOffset: -d * 64,
        cfaOffset: -d * 64 + 72,
        inlined: d % 4 === 1,
        hidden: false,
      }));
      shared.set(s, frames);
    }
    return frames;
  };
  const out: SnapshotGoroutine[] = [];
  for (let i = 0; i < goroutines; i++) {
    const s = Math.floor(rand() ** 2 * stacks); // a few stacks hold most goroutines
    const shape = shapes[s]!;
    const [status, waitReason] = STATUSES[Math.floor(rand() * STATUSES.length)]!;
    const id = i + 1;
    const captures: SnapshotGoroutine['captures'][number][] = [];
    const reqId = Math.floor(rand() * goroutines);
    shape.forEach((f, d) => {
      if (f.function === 'main.(*Server).handle')
        captures.push({
          depth: d,
          function: f.function,
          table: 'handle',
          values: [
            { column: 'req_id', expr: 'req.ID', value: reqId },
            { column: 'path', expr: 'req.URL.Path', value: `/api/v1/items/${reqId % 1000}` },
            { column: 'user', expr: 'req.User', value: { Name: `user${reqId % 500}`, Age: reqId % 90 } },
          ],
        });
      if (f.function === 'database/sql.(*DB).QueryContext')
        captures.push({
          depth: d,
          function: f.function,
          table: 'dbq',
          values: [
            { column: 'req_id', expr: 'ctx.Value("req")', value: reqId },
            { column: 'sql', expr: 'query', value: `SELECT * FROM items WHERE id = ${reqId % 1000}` },
          ],
        });
    });
    out.push({
      address: addr(0xc000000000 + i * 0x1a0),
      id,
      status,
      statusCode: 4,
      scan: false,
      waitReason,
      waitSinceNs: status === 'waiting' ? 1e12 : undefined,
      waitDurationNs: status === 'waiting' ? Math.floor(rand() * 6e11) : undefined,
      labels: i % 10 === 0 ? [['route', `/r${i % 7}`]] : [],
      createdBy: { function: 'main.serve', file: '/src/main.go', line: 77, pc: addr(0x4a0000), parentId: 1 },
      startFunction: shape[frames - 2]?.function,
      startPc: addr(0x4b0000),
      system: false,
      threadId: status === 'running' || status === 'syscall' ? 1000 + (i % 8) : undefined,
      lockedToThread: false,
      stackLo: addr(0xc100000000 + i * 0x2000),
      stackHi: addr(0xc100000000 + i * 0x2000 + 0x2000),
      stackSource: 'sched',
      stack: {
        frames: framesOf(s),
        sp: addr(0xc100000000 + i * 0x2000 + 0x1000),
        end: 'top',
      },
      errors: [],
      captures,
    });
  }
  return {
    pid: 4242,
    executable: '/srv/bin/api',
    buildId: 'synthetic',
    goVersion: 'go1.26.0',
    takenAt: new Date().toISOString(),
    mode: 'paused',
    pauseNs: 1_000_000,
    phasesNs: { stop: 200_000, copy: 600_000, values: 100_000, resume: 100_000 },
    bytesRead: goroutines * 2048,
    decodeNs: 50_000_000,
    threads: 8,
    goroutines: out,
    allglen: goroutines,
    truncated: false,
    specFunctionsAbsent: [],
  };
}
