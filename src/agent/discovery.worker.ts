/**
 * The discovery thread (started by discovery-thread.ts). All the per-process work happens
 * here, so that the agent's main thread hears only of changes to the list of Go processes:
 * with the kernel's process events, it sleeps in poll() until an exec or exit (then at most
 * one batch per `coalesceMs`) or the next full pass; without them, it polls /proc on its own
 * clock. Every sleep also ends when the owner writes the wake-up eventfd (stop, or exit).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { libc } from '../proc/libc.js';
import { ConnectorError } from '../proc/proc-connector.js';
import { ConnectorUnavailable, ProcEventReader, sleepOn } from '../proc/proc-event-reader.js';
import {
  DISCOVERY_THREAD_NAME,
  type DiscoveryThreadInit,
  type DiscoveryThreadMessage,
} from './discovery-thread.js';
import { ProcessWatch } from './process-watch.js';

const init = workerData as DiscoveryThreadInit;
const post = (m: DiscoveryThreadMessage): void => parentPort!.postMessage(m);
const watch = new ProcessWatch(init.watch, new Int32Array(init.counters));

function publish(): void {
  const list = watch.changedList();
  if (list) post({ type: 'list', processes: list });
}

function onEvents(reader: ProcEventReader): void {
  watch.scan(true); // what started before the subscription
  post({ type: 'mode', mode: 'events' });
  publish();
  // The safety net: a listing of /proc every checkMs (a lost exit, or a new pid whose exec
  // was lost), every pid re-checked every rescanMs (a lost exec in a known pid). The kernel
  // reports lost events itself (recv fails with ENOBUFS: the socket's buffer overran), and
  // apply() then makes a full pass at once.
  let nextFull = Date.now() + init.rescanMs;
  let nextCheck = Date.now() + init.checkMs;
  for (;;) {
    const b = reader.next(Math.min(nextFull, nextCheck) - Date.now());
    if (b === 'stopped') return;
    if (b === undefined) {
      const full = Date.now() >= nextFull;
      if (watch.scan(full)) publish();
      if (full) nextFull = Date.now() + init.rescanMs;
      nextCheck = Date.now() + init.checkMs;
      continue;
    }
    if (watch.apply(b)) publish();
    // Let a burst gather in the socket's buffer (a stop still wakes us at once).
    if (sleepOn(init.wakeFd, init.coalesceMs)) return;
  }
}

function onPolling(reason: string): void {
  watch.scan(true);
  post({ type: 'mode', mode: 'polling', reason });
  publish();
  let nextPass = Date.now() + init.intervalMs;
  for (;;) {
    if (sleepOn(init.wakeFd, init.quickMs)) return;
    const full = Date.now() >= nextPass;
    if (full) nextPass = Date.now() + init.intervalMs;
    if (watch.scan(full)) publish();
  }
}

function run(): void {
  if (!init.events) {
    onPolling('kernel process events switched off');
    return;
  }
  let reader: ProcEventReader | undefined;
  try {
    reader = ProcEventReader.open(init.wakeFd, init.rcvbuf);
  } catch (e) {
    if (!(e instanceof ConnectorUnavailable)) throw e;
    onPolling(`kernel process events unavailable: ${e.message}`);
    return;
  }
  if (!reader) return; // stopped while subscribing
  let broken: ConnectorError | undefined;
  try {
    onEvents(reader);
  } catch (e) {
    if (!(e instanceof ConnectorError)) throw e;
    broken = e;
  } finally {
    reader.close();
  }
  if (broken) onPolling(`kernel process events failed: ${broken.message}`);
}

try {
  libc().setThreadName(DISCOVERY_THREAD_NAME);
  run();
} catch (e) {
  post({ type: 'failed', reason: e instanceof Error ? e.message : String(e) });
}
