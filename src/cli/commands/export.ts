/** `periscope export --snapshot ID --format duckdb|parquet --out PATH`. */
import { PeriscopeError } from '../../common/errors.js';
import type { ExportFormat } from '../../store/store.js';
import type { Command } from '../command.js';
import { DATA_OPTION, noPositionals, openCliStore, snapshotIdOption } from './store-options.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'Write one snapshot as a standalone DuckDB file or a directory of Parquet files.',
  args: '--snapshot ID --out PATH',
  options: {
    snapshot: { type: 'string', value: 'ID', help: 'the snapshot to export' },
    format: {
      type: 'string',
      value: 'FORMAT',
      help: 'duckdb (default: one file) or parquet (a directory, one file per table)',
    },
    out: { type: 'string', value: 'PATH', help: 'the file or directory to create (must not exist)' },
    data: DATA_OPTION,
  },
  details:
    'The export holds the snapshot’s rows of every built-in table, the spec history, and the\n' +
    'current spec’s function tables, derived tables and links (materialized, for other tools).\n' +
    '`periscope import PATH` reads it back.\n\n' +
    'Example:\n  periscope export --snapshot 3 --format parquet --out snap3/',
  async run(positionals, values) {
    noPositionals('export', positionals);
    const id = snapshotIdOption(values.snapshot);
    if (id === undefined) throw new PeriscopeError('bad-usage', 'give the snapshot with --snapshot ID');
    if (typeof values.out !== 'string')
      throw new PeriscopeError('bad-usage', 'give where to write with --out PATH');
    const format = (values.format ?? 'duckdb') as string;
    if (format !== 'duckdb' && format !== 'parquet')
      throw new PeriscopeError('bad-usage', `--format is duckdb or parquet, not "${format}"`);
    const store = await openCliStore(values, false);
    try {
      const notes = await store.exportWithNotes(id, format as ExportFormat, values.out);
      for (const n of notes) process.stderr.write(`periscope: warning: ${n}\n`);
      console.log(`snapshot ${id} exported to ${values.out} (${format})`);
    } finally {
      store.close();
    }
  },
};
