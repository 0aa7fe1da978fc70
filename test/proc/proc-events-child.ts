/** Child of proc-events.test.ts: opens a ProcEventReader and prints why it could not, if it could not. */
import { ConnectorUnavailable, ProcEventReader, wakeEventFd } from '../../src/proc/proc-event-reader.js';

try {
  ProcEventReader.open(wakeEventFd())?.close();
  console.log('opened');
} catch (e) {
  console.log(e instanceof ConnectorUnavailable ? `unavailable: ${e.message}` : `error: ${String(e)}`);
}
