/** `periscope import PATH`: a snapshot written by `periscope export`, into this store. */
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { out } from '../output.js';
import { DATA_OPTION, localDataDir } from '../target.js';
import { openCliStore } from './store-options.js';

export const importCommand = defineCommand({
  name: 'import',
  summary: summaryOf('import'),
  args: 'PATH',
  options: { data: DATA_OPTION },
  positionals: { min: 1, max: 1, missing: 'give the exported file or directory: periscope import PATH' },
  details:
    'The snapshot keeps its id unless this store already has one with that id; then it gets the\n' +
    'next free id. A store without a spec takes the export’s spec history. Works on the local\n' +
    'store (a data directory), which is created if it does not exist.',
  parse(values, positionals) {
    return { path: positionals[0]!, dataDir: localDataDir(values) };
  },
  async run({ path, dataDir }) {
    const store = await openCliStore(dataDir, 'create');
    try {
      const r = await store.importSnapshot(path);
      const renumbered =
        r.originalId !== undefined ? ` (it was snapshot ${r.originalId} where it came from)` : '';
      const specs = r.specVersionsImported > 0 ? `; ${r.specVersionsImported} spec version(s) imported` : '';
      out(`snapshot ${r.snapshotId} imported into ${store.location}${renumbered}${specs}`);
    } finally {
      store.close();
    }
  },
});
