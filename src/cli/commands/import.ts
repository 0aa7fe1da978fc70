/** `periscope import PATH`: a snapshot written by `periscope export`, into this store. */

import type { ImportResult } from '../../store/store.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { out } from '../output.js';
import { DATA_OPTION, localDataDir } from '../target.js';
import { openCliStore, SCALED_OUT_OPTIONS, scaledOutOption, withScaledOut } from './store-options.js';

export const importCommand = defineCommand({
  name: 'import',
  summary: summaryOf('import'),
  args: 'PATH',
  options: { data: DATA_OPTION, ...SCALED_OUT_OPTIONS },
  positionals: { min: 1, max: 1, missing: 'give the exported file or directory: periscope import PATH' },
  details:
    'The snapshot keeps its id unless this store already has one with that id; then it gets the\n' +
    'next free id. A store without a spec takes the export’s spec history. Works on the local\n' +
    'store (a data directory), which is created if it does not exist, or on the scaled-out store\n' +
    'with --store and --objects (always a new id from its sequence; every server sees it).',
  parse(values, positionals) {
    return { path: positionals[0]!, dataDir: localDataDir(values), scaledOut: scaledOutOption(values) };
  },
  async run({ path, dataDir, scaledOut }) {
    if (scaledOut) {
      await withScaledOut(scaledOut, async (store) =>
        report(await store.importSnapshot(path), store.location),
      );
      return;
    }
    const store = await openCliStore(dataDir, 'create');
    try {
      report(await store.importSnapshot(path), store.location);
    } finally {
      await store.close();
    }
  },
});

function report(r: ImportResult, location: string): void {
  const renumbered =
    r.originalId !== undefined ? ` (it was snapshot ${r.originalId} where it came from)` : '';
  const specs = r.specVersionsImported > 0 ? `; ${r.specVersionsImported} spec version(s) imported` : '';
  out(`snapshot ${r.snapshotId} imported into ${location}${renumbered}${specs}`);
}
