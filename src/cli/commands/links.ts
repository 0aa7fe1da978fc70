/** `periscope links --goroutine PROCESS:GOID [--snapshot ID]`: what a goroutine links to, both ways. */
import { PeriscopeError } from '../../common/errors.js';
import { parseGoroutineRef } from '../../store/links-query.js';
import { formatResult, RESULT_FORMATS, type ResultFormat } from '../../store/result-format.js';
import { clientFrom, SERVER_OPTIONS, wantsServer } from '../client.js';
import type { Command } from '../command.js';
import { DATA_OPTION, noPositionals, openCliStore, snapshotIdOption } from './store-options.js';

export const linksCommand: Command = {
  name: 'links',
  summary: 'What a goroutine links to and is linked from, through the spec’s links (across processes).',
  args: '--goroutine PROCESS:GOID',
  options: {
    goroutine: {
      type: 'string',
      value: 'PROCESS:GOID',
      help: 'the goroutine: its process_id (hostname:pid) and id',
    },
    snapshot: { type: 'string', value: 'ID', help: 'the snapshot (default: the latest)' },
    format: { type: 'string', value: 'FORMAT', help: 'table (default), json or csv' },
    data: DATA_OPTION,
    ...SERVER_OPTIONS,
  },
  details:
    'With --server (or $PERISCOPE_SERVER, unless --data is given) the server answers.\n\n' +
    'direction -> : the goroutine is the link’s "from" end and the other goroutine its "to" end;\n' +
    'direction <- : the other way round.\n\n' +
    'Example:\n  periscope links --snapshot 3 --goroutine web-1:4242:17',
  async run(positionals, values) {
    noPositionals('links', positionals);
    if (typeof values.goroutine !== 'string')
      throw new PeriscopeError(
        'bad-usage',
        'give the goroutine with --goroutine PROCESS:GOID, e.g. web-1:4242:17',
      );
    const { processId, goroutineId } = parseGoroutineRef(values.goroutine); // checked before any call
    const format = (values.format ?? 'table') as string;
    if (!(RESULT_FORMATS as readonly string[]).includes(format))
      throw new PeriscopeError(
        'bad-usage',
        `--format is one of ${RESULT_FORMATS.join(', ')}, not "${format}"`,
      );
    if (wantsServer(values)) {
      const r = await clientFrom(values).links(values.goroutine, snapshotIdOption(values.snapshot));
      for (const w of r.warnings) process.stderr.write(`periscope: warning: ${w}\n`);
      process.stdout.write(formatResult(r, format as ResultFormat));
      return;
    }
    const store = await openCliStore(values, true);
    try {
      let id = snapshotIdOption(values.snapshot);
      if (id === undefined) {
        const list = await store.listSnapshots();
        id = list[list.length - 1]?.snapshotId;
        if (id === undefined) throw new PeriscopeError('not-found', 'the store has no snapshots yet');
      }
      const r = await store.links(id, processId, goroutineId);
      for (const w of r.warnings) process.stderr.write(`periscope: warning: ${w}\n`);
      process.stdout.write(formatResult(r, format as ResultFormat));
    } finally {
      store.close();
    }
  },
};
