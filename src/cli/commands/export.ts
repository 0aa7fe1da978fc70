/** `periscope export --snapshot ID --format duckdb|parquet --out PATH`. */
import { PeriscopeError } from '../../common/errors.js';
import type { ExportFormat } from '../../store/store.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { choiceOption, snapshotIdOption, textOption } from '../options.js';
import { out, warn } from '../output.js';
import { useSpecCacheDir } from '../spec-cache-dir.js';
import { DATA_OPTION, localDataDir } from '../target.js';
import { openCliStore, SCALED_OUT_OPTIONS, scaledOutOption } from './store-options.js';

export const exportCommand = defineCommand({
  name: 'export',
  summary: summaryOf('export'),
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
    ...SCALED_OUT_OPTIONS,
  },
  details:
    'The export holds the snapshot’s rows of every built-in table, the spec history, and the\n' +
    'current spec’s function tables, derived tables and links (materialized, for other tools).\n' +
    '`periscope import PATH` reads it back. Works on the local store (a data directory), or on\n' +
    'the scaled-out store with --store and --objects (read only: a PostgreSQL role with SELECT\n' +
    'and read access to the objects are enough).\n\n' +
    'Example:\n  periscope export --snapshot 3 --format parquet --out snap3/',
  parse(values) {
    const id = snapshotIdOption(values);
    if (id === undefined) throw new PeriscopeError('bad-usage', 'give the snapshot with --snapshot ID');
    const path = textOption(values, 'out');
    if (path === undefined) throw new PeriscopeError('bad-usage', 'give where to write with --out PATH');
    const format = choiceOption<ExportFormat>(values, 'format', ['duckdb', 'parquet'], 'duckdb');
    return { id, path, format, dataDir: localDataDir(values), scaledOut: scaledOutOption(values) };
  },
  async run({ id, path, format, dataDir, scaledOut }) {
    if (scaledOut) {
      // Only reads: PostgreSQL and the objects (no server cache, nothing written; docs/storage.md).
      useSpecCacheDir();
      const { SharedStore } = await import('../../store/shared/shared-store.js');
      const notes = await SharedStore.exportReadOnly(scaledOut.store, scaledOut.objects, id, format, path);
      for (const n of notes) warn(n);
      out(`snapshot ${id} exported to ${path} (${format})`);
      return;
    }
    const store = await openCliStore(dataDir, 'update');
    try {
      const notes = await store.exportWithNotes(id, format, path);
      for (const n of notes) warn(n);
      out(`snapshot ${id} exported to ${path} (${format})`);
    } finally {
      await store.close();
    }
  },
});
