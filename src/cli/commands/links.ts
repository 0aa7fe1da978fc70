/** `periscope links --goroutine PROCESS:GOID [--snapshot ID]`: what a goroutine links to, both ways. */
import { parseGoroutineRef } from '../../api/requests.js';
import { PeriscopeError } from '../../common/errors.js';
import { ApiClient } from '../api-client.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { formatOption, snapshotIdOption, textOption } from '../options.js';
import { printResult } from '../output.js';
import { SERVER_OR_LOCAL_OPTIONS, WHERE_RULE, whereTo } from '../target.js';
import { openCliStore } from './store-options.js';

export const linksCommand = defineCommand({
  name: 'links',
  summary: summaryOf('links'),
  args: '--goroutine PROCESS:GOID',
  options: {
    goroutine: {
      type: 'string',
      value: 'PROCESS:GOID',
      help: 'the goroutine: its process_id (hostname:pid) and id',
    },
    snapshot: { type: 'string', value: 'ID', help: 'the snapshot (default: the latest)' },
    format: { type: 'string', value: 'FORMAT', help: 'table (default), json or csv' },
    ...SERVER_OR_LOCAL_OPTIONS,
  },
  details:
    `${WHERE_RULE}\n\n` +
    'direction -> : the goroutine is the link’s "from" end and the other goroutine its "to" end;\n' +
    'direction <- : the other way round. other_function is the function of the other goroutine’s\n' +
    'frame the link was made on (its row of the link’s table), not where that goroutine waits.\n\n' +
    'Example:\n  periscope links --snapshot 3 --goroutine web-1:4242:17',
  parse(values) {
    const text = textOption(values, 'goroutine');
    if (text === undefined)
      throw new PeriscopeError(
        'bad-usage',
        'give the goroutine with --goroutine PROCESS:GOID, e.g. web-1:4242:17',
      );
    return {
      goroutine: parseGoroutineRef(text, '--goroutine'),
      snapshot: snapshotIdOption(values),
      format: formatOption(values),
      where: whereTo(values),
    };
  },
  async run({ goroutine, snapshot, format, where }) {
    if (where.kind === 'server')
      return await printResult(await new ApiClient(where.target).links(goroutine, snapshot), format);
    const store = await openCliStore(where.dataDir, 'read');
    try {
      let id = snapshot;
      if (id === undefined) {
        const list = await store.listSnapshots();
        id = list[list.length - 1]?.snapshotId;
        if (id === undefined) throw new PeriscopeError('not-found', 'the store has no snapshots yet');
      }
      await printResult(await store.links(id, goroutine.processId, goroutine.goroutineId), format);
    } finally {
      await store.close();
    }
  },
});
