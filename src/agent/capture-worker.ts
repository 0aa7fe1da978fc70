/**
 * The agent's capture thread: prepares and captures processes off the main thread, so the
 * WebSocket stays responsive while a big binary loads or a big snapshot decodes, and so a
 * process that hangs us can be abandoned by terminating this thread (its ptrace tracees are
 * then released by the kernel). One request at a time; results are encoded here (JSON,
 * deflated when large) and handed back as bytes.
 */
import { parentPort } from 'node:worker_threads';
import { deflateSync } from 'node:zlib';
import { PeriscopeError } from '../common/errors.js';
import { cachedBinaries } from '../snapshot/binary-cache.js';
import { captureProcess, type PreparedProcess, prepareProcess } from '../snapshot/take-snapshot.js';
import { withDefaultSpec } from '../spec/default-spec.js';
import { parseSpec } from '../spec/spec-parse.js';
import { EMPTY_SPEC, type Spec } from '../spec/spec-types.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

const prepared = new Map<string, PreparedProcess>();
const specs = new Map<number, Spec>();

function specFor(version: number, text: string): Spec {
  let spec = specs.get(version);
  if (!spec) {
    // The built-in spec (gRPC and net/http links) applies under the fleet's spec, as in the store.
    spec = withDefaultSpec(text.trim() === '' ? EMPTY_SPEC : parseSpec(text, `spec version ${version}`));
    if (specs.size >= 4) specs.delete(specs.keys().next().value as number);
    specs.set(version, spec);
  }
  return spec;
}

function handle(req: WorkerRequest): WorkerReply {
  const t0 = performance.now();
  switch (req.op) {
    case 'prepare': {
      prepared.set(req.slot, prepareProcess(req.pid, specFor(req.specVersion, req.spec)));
      return { id: req.id, ok: true, elapsedMs: performance.now() - t0, binaries: cachedBinaries() };
    }
    case 'capture': {
      const plan = prepared.get(req.slot);
      if (!plan) return fail(req.id, 'internal', 'not prepared in this capture thread');
      const startedAt = Date.now();
      const snap = captureProcess(req.pid, plan, { noPause: req.noPause });
      const json = JSON.stringify(snap);
      const deflated = json.length > req.deflateOver;
      const bytes = deflated ? deflateSync(json, { level: 1 }) : Buffer.from(json, 'utf8');
      return {
        id: req.id,
        ok: true,
        startedAt,
        pauseNs: snap.pauseNs,
        goroutines: snap.goroutines.length,
        deflated,
        bytes,
        elapsedMs: performance.now() - t0,
        binaries: cachedBinaries(),
      };
    }
    case 'drop': {
      for (const s of req.slots) prepared.delete(s);
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
