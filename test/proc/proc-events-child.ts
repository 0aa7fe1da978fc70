/** Child of proc-events.test.ts: starts a ProcEvents reader, prints how it failed, and lets the process end. */
import { ProcEvents } from '../../src/proc/proc-events.js';

ProcEvents.start({
  ready: () => console.log('ready'),
  batch: () => {},
  failed: (reason) => console.log(`failed: ${reason}`),
});
process.on('exit', () => console.log('exited'));
