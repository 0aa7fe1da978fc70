/** `periscope query [--snapshot ID | --all] [--format table|json|csv] [--data DIR] "SQL"`. */
import { PeriscopeError } from '../../common/errors.js';
import { formatResult, RESULT_FORMATS, type ResultFormat } from '../../store/result-format.js';
import type { QueryScope } from '../../store/store.js';
import { clientFrom, SERVER_OPTIONS, scopeBody, wantsServer } from '../client.js';
import type { Command } from '../command.js';
import { DATA_OPTION, openCliStore, snapshotIdOption } from './store-options.js';

/** The scope a command's --snapshot/--all flags choose. */
export function scopeOf(values: Record<string, string | boolean | undefined>): QueryScope {
  const id = snapshotIdOption(values.snapshot);
  if (id !== undefined && values.all === true)
    throw new PeriscopeError('bad-usage', 'give --snapshot ID or --all, not both');
  if (id !== undefined) return { snapshot: id };
  return values.all === true ? { all: true } : { latest: true };
}

export const queryCommand: Command = {
  name: 'query',
  summary: 'SQL over stored snapshots: goroutines, frames, captured values, the spec’s tables and links.',
  args: '"SQL"',
  options: {
    snapshot: { type: 'string', value: 'ID', help: 'query this snapshot (default: the latest)' },
    all: {
      type: 'boolean',
      help: 'query every snapshot (tables have a snapshot_id column to tell them apart)',
    },
    format: { type: 'string', value: 'FORMAT', help: 'table (default), json or csv' },
    data: DATA_OPTION,
    ...SERVER_OPTIONS,
  },
  details:
    'Tables: snapshots, processes, goroutines, frames, stacks, captured, spec_versions, links, and\n' +
    'one table per function and derived table of the current spec (see docs/tables.md). The\n' +
    'current spec applies to old snapshots too. One read-only statement per query.\n' +
    'With --server (or $PERISCOPE_SERVER, unless --data is given) the server runs the query.\n\n' +
    'Examples:\n' +
    '  periscope query "SELECT status, count(*) FROM goroutines GROUP BY ALL ORDER BY 2 DESC"\n' +
    '  periscope query --all "SELECT snapshot_id, count(*) FROM goroutines GROUP BY 1"\n' +
    '  periscope query --format json "SELECT * FROM links"',
  async run(positionals, values) {
    if (positionals.length !== 1)
      throw new PeriscopeError(
        'bad-usage',
        positionals.length === 0
          ? 'give the SQL to run, e.g. periscope query "SELECT * FROM goroutines LIMIT 10"'
          : 'give the SQL as one argument (quote it)',
      );
    const format = (values.format ?? 'table') as string;
    if (!(RESULT_FORMATS as readonly string[]).includes(format))
      throw new PeriscopeError(
        'bad-usage',
        `--format is one of ${RESULT_FORMATS.join(', ')}, not "${format}"`,
      );
    const scope = scopeOf(values);
    if (wantsServer(values)) {
      const r = await clientFrom(values).query(positionals[0]!, scopeBody(scope));
      for (const w of r.warnings) process.stderr.write(`periscope: warning: ${w}\n`);
      process.stdout.write(formatResult(r, format as ResultFormat));
      return;
    }
    const store = await openCliStore(values, true);
    try {
      const r = await store.query(positionals[0]!, scope);
      for (const w of r.warnings) process.stderr.write(`periscope: warning: ${w}\n`);
      if (r.snapshotIds.length === 0)
        process.stderr.write('periscope: warning: the store has no snapshots yet\n');
      process.stdout.write(formatResult(r, format as ResultFormat));
    } finally {
      store.close();
    }
  },
};
