/** `periscope query [--snapshot ID | --all] [--format table|json|csv] [--server URL | --data DIR] "SQL"`. */
import { ApiClient } from '../api-client.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { formatOption, scopeOption } from '../options.js';
import { printResult, warn } from '../output.js';
import { SERVER_OR_LOCAL_OPTIONS, WHERE_RULE, whereTo } from '../target.js';
import { openCliStore } from './store-options.js';

export const queryCommand = defineCommand({
  name: 'query',
  summary: summaryOf('query'),
  args: '"SQL"',
  options: {
    snapshot: { type: 'string', value: 'ID', help: 'query this snapshot (default: the latest)' },
    all: {
      type: 'boolean',
      help: 'query every snapshot (tables have a snapshot_id column to tell them apart)',
    },
    format: { type: 'string', value: 'FORMAT', help: 'table (default), json or csv (RFC 4180, CRLF)' },
    ...SERVER_OR_LOCAL_OPTIONS,
  },
  positionals: {
    min: 1,
    max: 1,
    missing: 'give the SQL to run, e.g. periscope query "SELECT * FROM goroutines LIMIT 10"',
    extra: 'give the SQL as one argument (quote it)',
  },
  details:
    'Tables: snapshots, processes, goroutines, frames, stacks, captured, spec_versions, links,\n' +
    'investigations, investigation_firings, investigation_reports, the probe tables, and one\n' +
    'table per function and derived table of the current spec (see docs/tables.md). The\n' +
    'current spec applies to old snapshots too. One read-only statement per query.\n' +
    `${WHERE_RULE}\n` +
    'When the latest snapshot holds only part of the fleet (it was taken with --select), a note on\n' +
    'stderr says which snapshot answered and how many processes it holds.\n\n' +
    'Examples:\n' +
    '  periscope query "SELECT status, count(*) FROM goroutines GROUP BY ALL ORDER BY 2 DESC"\n' +
    '  periscope query --all "SELECT snapshot_id, count(*) FROM goroutines GROUP BY 1"\n' +
    '  periscope query --format json "SELECT * FROM links"',
  parse(values, positionals) {
    return {
      sql: positionals[0]!,
      scope: scopeOption(values),
      format: formatOption(values),
      where: whereTo(values),
    };
  },
  async run({ sql, scope, format, where }) {
    if (where.kind === 'server')
      return await printResult(await new ApiClient(where.target).query(sql, scope), format);
    const store = await openCliStore(where.dataDir, 'read');
    try {
      const r = await store.query(sql, scope);
      if (r.snapshotIds.length === 0) warn('the store has no snapshots yet');
      await printResult(r, format);
    } finally {
      await store.close();
    }
  },
});
