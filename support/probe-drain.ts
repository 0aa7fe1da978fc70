/**
 * How many events per second one agent drains from a probe's ring buffer without drops.
 * The producer is synthetic so the figure is the agent's, not the uprobe trap's: a real
 * record of the five-capture probe is copied into the ring by a BPF program run with
 * BPF_PROG_TEST_RUN on another thread, paced to a rate; the drain, on this thread, waits on
 * the ring (poll on a pool thread) when it is empty and copies records out as an agent
 * would before sending them. Records the producer could not write (ring full) are counted
 * by its program. Decoding to JSON values is measured apart (one thread, records/s).
 */
import { Worker } from 'node:worker_threads';
import { Assembler } from '../src/probes/bpf/assembler.js';
import { R0, R1, R2, R3, R4, R6, R10 } from '../src/probes/bpf/isa.js';
import { type BpfMap, createMap } from '../src/probes/bpf/maps.js';
import { loadProgram, PROG_TYPE_SOCKET_FILTER } from '../src/probes/bpf/program.js';
import { RingBufferReader } from '../src/probes/bpf/ringbuf.js';
import { syscalls } from '../src/probes/bpf/syscalls.js';

/** One rate's outcome. */
export interface DrainResult {
  readonly offeredPerSecond: number;
  readonly produced: number;
  readonly drained: number;
  readonly dropped: number;
  readonly drainedPerSecond: number;
}

/** Offers `record` at each rate for `ms` and drains it; ring of `ringBytes`. */
export async function measureDrain(
  record: Uint8Array,
  rates: readonly number[],
  ms: number,
  ringBytes: number,
): Promise<DrainResult[]> {
  const maps: BpfMap[] = [];
  try {
    const ring = createMap({
      name: 'periscope_bdr',
      type: 'ringbuf',
      keySize: 0,
      valueSize: 0,
      maxEntries: ringBytes,
    });
    maps.push(ring);
    const template = createMap({
      name: 'periscope_bdt',
      type: 'array',
      keySize: 4,
      valueSize: record.length,
      maxEntries: 1,
    });
    maps.push(template);
    const counts = createMap({
      name: 'periscope_bdc',
      type: 'array',
      keySize: 4,
      valueSize: 16,
      maxEntries: 1,
    });
    maps.push(counts);
    template.update(Buffer.from(Uint32Array.of(0).buffer), Buffer.from(record));
    const a = new Assembler();
    const lookup = (map: BpfMap, key: number) => {
      a.st('w', R10, -4, key).ldMap(R1, map).mov64(R2, R10).alu64('add', R2, -4).call('map_lookup_elem');
      a.jmp('jeq', R0, 0, 'out');
    };
    lookup(template, 0);
    a.mov64(R6, R0);
    a.ldMap(R1, ring).mov64(R2, R6).mov64(R3, record.length).mov64(R4, 0).call('ringbuf_output');
    a.mov64(R6, R0);
    lookup(counts, 0); // words: written, dropped
    a.jmp('jeq', R6, 0, 'written').alu64('add', R0, 8).label('written');
    a.mov64(R1, 1).atomicAdd('dw', R0, 0, R1);
    a.label('out').mov64(R0, 0).exit();
    const prog = loadProgram({ name: 'periscope_bdp', insns: a.assemble(), type: PROG_TYPE_SOCKET_FILTER });
    const reader = new RingBufferReader(ring);
    const out: DrainResult[] = [];
    const sink = Buffer.alloc(record.length * 4096);
    try {
      for (const rate of rates) {
        counts.update(Buffer.from(Uint32Array.of(0).buffer), Buffer.alloc(16));
        const worker = new Worker(new URL('./probe-producer.worker.js', import.meta.url), {
          workerData: { progFd: prog.fd, rate, ms, batch: 64 },
        });
        let done = false;
        const finished = new Promise<{ runs: number; ms: number }>((resolve, reject) => {
          worker.once('message', (m) => {
            done = true;
            resolve(m);
          });
          worker.once('error', reject);
        });
        let drained = 0;
        let at = 0;
        const copy = (rec: Uint8Array) => {
          if (at + rec.length > sink.length) at = 0;
          sink.set(rec, at);
          at += rec.length;
          drained++;
        };
        const t0 = performance.now();
        while (!done || reader.pending() > 0) {
          if (reader.poll(copy) === 0 && !done) await syscalls().pollReadable(ring.fd, 5);
        }
        const elapsed = performance.now() - t0;
        const { runs } = await finished;
        await worker.terminate();
        const v = counts.lookup(Buffer.from(Uint32Array.of(0).buffer))!;
        const dropped = Number(v.readBigUInt64LE(8));
        out.push({
          offeredPerSecond: rate,
          produced: runs,
          drained,
          dropped,
          drainedPerSecond: (drained / elapsed) * 1000,
        });
      }
    } finally {
      reader.close();
      prog.close();
    }
    return out;
  } finally {
    for (const m of maps) m.close();
  }
}
