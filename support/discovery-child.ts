/**
 * The agent's discovery alone in a process of its own (for bench/agent-idle.ts): no server,
 * no connection, no capture thread. Argument: `events` (the default: kernel process events
 * where available) or `polling`, then optionally the ms between batches of events. Prints `ready MODE` once discovery has settled how it
 * works, its counters as one JSON line on each SIGUSR2, and runs until SIGTERM.
 */
import { Discovery } from '../src/agent/discovery.js';
import { DEFAULT_ENV_ALLOW } from '../src/agent/labels.js';

const mode = process.argv[2] ?? 'events';
const coalesce = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const d = new Discovery({
  node: 'bench',
  envAllow: DEFAULT_ENV_ALLOW,
  procEvents: mode !== 'polling',
  ...(coalesce === undefined ? {} : { coalesceMs: coalesce }),
});
d.start();
// Discovery's timers are unref'd (the agent's connection keeps it alive): hold the loop open.
const keep = setInterval(() => {}, 1 << 30);
const settled = setInterval(() => {
  const now = d.stats().mode;
  if (now === 'starting') return;
  clearInterval(settled);
  console.log(`ready ${now}`);
}, 20);
process.on('SIGUSR2', () => console.log(JSON.stringify(d.stats())));
process.once('SIGTERM', () => {
  d.stop();
  clearInterval(keep);
  clearInterval(settled);
});
