/** `periscope import PATH`: a snapshot written by `periscope export`, into this store. */
import { PeriscopeError } from '../../common/errors.js';
import type { Command } from '../command.js';
import { DATA_OPTION, openCliStore } from './store-options.js';

export const importCommand: Command = {
  name: 'import',
  summary: 'Read a snapshot written by `periscope export` (DuckDB file or Parquet directory) into the store.',
  args: 'PATH',
  options: { data: DATA_OPTION },
  details:
    'The snapshot keeps its id unless this store already has one with that id; then it gets the\n' +
    'next free id. A store without a spec takes the export’s spec history.',
  async run(positionals, values) {
    if (positionals.length !== 1)
      throw new PeriscopeError('bad-usage', 'give the exported file or directory: periscope import PATH');
    const store = await openCliStore(values, false);
    try {
      const r = await store.importSnapshot(positionals[0]!);
      const renumbered =
        r.originalId !== undefined ? ` (it was snapshot ${r.originalId} where it came from)` : '';
      const specs = r.specVersionsImported > 0 ? `; ${r.specVersionsImported} spec version(s) imported` : '';
      console.log(`snapshot ${r.snapshotId} imported into ${store.location}${renumbered}${specs}`);
    } finally {
      store.close();
    }
  },
};
