/**
 * Loaded into a server by bench/scale-fleet.ts `--cpu-prof DIR` (NODE_OPTIONS=--import, since
 * Node refuses --cpu-prof there): profiles the process's main thread from its start and writes
 * `DIR/server-PID.cpuprofile` when it exits (open it in Chrome DevTools or speedscope).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.PERISCOPE_BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // A session on the process's own thread answers synchronously: this runs before the exit.
    session.post('Profiler.stop', (err, r) => {
      if (!err) writeFileSync(join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify(r.profile));
    });
  });
}
