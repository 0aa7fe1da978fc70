/**
 * The agent's discovery alone in a process of its own (for bench/agent-idle.ts): no server,
 * no connection, no capture thread. Argument: `events` (the default: kernel process events
 * where available) or `polling`. Runs until SIGTERM.
 */
import { Discovery } from '../../src/agent/discovery.js';
import { DEFAULT_ENV_ALLOW } from '../../src/agent/labels.js';

const mode = process.argv[2] ?? 'events';
const options = { node: 'bench', envAllow: DEFAULT_ENV_ALLOW, procEvents: mode !== 'polling' };
const d = new Discovery(options);
d.start();
// Discovery's timers are unref'd (the agent's connection keeps it alive): hold the loop open.
const keep = setInterval(() => {}, 1 << 30);
process.once('SIGTERM', () => {
  d.stop();
  clearInterval(keep);
});
console.log(`discovery ${mode} ready`);
