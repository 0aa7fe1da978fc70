/**
 * `periscope store migrate`: copies an embedded store (a data directory) into a scaled-out one
 * (PostgreSQL + object store), idempotently; docs/storage.md "Migrating an embedded store".
 */
import { PeriscopeError } from '../../common/errors.js';
import { SnapshotMetaLog } from '../../server/snapshot-meta.js';
import { resolveDataDir } from '../../store/data-dir.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption, textOption } from '../options.js';
import { printJson } from '../output.js';

const USAGE = 'use `periscope store migrate --data DIR --store postgres://… --objects URL`';

export const storeCommand = defineCommand({
  name: 'store',
  summary: summaryOf('store'),
  args: 'migrate',
  options: {
    data: {
      type: 'string',
      value: 'DIR',
      help: 'the data directory of the embedded store to copy (default $PERISCOPE_DATA, else ~/.local/share/periscope); stop its server first',
    },
    store: {
      type: 'string',
      value: 'URL',
      help: 'the PostgreSQL of the scaled-out store (postgres://…, the servers’ --store; env PERISCOPE_STORE)',
    },
    objects: {
      type: 'string',
      value: 'URL',
      help: 'its object store (file:///DIR or s3://BUCKET/PREFIX, the servers’ --objects; env PERISCOPE_OBJECTS)',
    },
    json: { type: 'boolean', help: 'print what was copied as JSON' },
  },
  positionals: { min: 1, max: 1, missing: USAGE },
  details:
    'Copies the spec history (version numbers kept), every snapshot with its processes (snapshot\n' +
    'ids kept; the id sequence is moved past them), fleet-snapshot metadata, the tokens and the\n' +
    'investigations with their firings and reports into the scaled-out store, printing a line per\n' +
    'step and per snapshot. A second run copies only what is missing; a target holding other data\n' +
    'under the same numbers is refused before anything is copied.\n\n' +
    'Example:\n  periscope store migrate --data /var/lib/periscope --store postgres://periscope@db/periscope --objects s3://periscope/prod',
  parse(values, positionals) {
    const [action] = positionals;
    if (action !== 'migrate') throw new PeriscopeError('bad-usage', `unknown action "${action}"; ${USAGE}`);
    const store = textOption(values, 'store') ?? (process.env.PERISCOPE_STORE || undefined);
    const objects = textOption(values, 'objects') ?? (process.env.PERISCOPE_OBJECTS || undefined);
    if (store === undefined || !/^postgres(ql)?:\/\//.test(store))
      throw new PeriscopeError('bad-usage', `give --store postgres://USER:PASSWORD@HOST:PORT/DB; ${USAGE}`);
    if (objects === undefined)
      throw new PeriscopeError('bad-usage', `give --objects file:///DIR or s3://BUCKET/PREFIX; ${USAGE}`);
    return {
      dataDir: resolveDataDir(textOption(values, 'data')),
      store,
      objects,
      json: flagOption(values, 'json'),
    };
  },
  async run(o) {
    // Imported only when used: the CLI loads the PostgreSQL client only here and for --store.
    const { migrateEmbedded } = await import('../../store/shared/shared-store.js');
    const meta = new SnapshotMetaLog(o.dataDir);
    const result = await migrateEmbedded({
      dataDir: o.dataDir,
      store: o.store,
      objects: o.objects,
      progress: (line) => process.stderr.write(`${line}\n`),
      fleetMeta: (id) => meta.get(id),
    });
    if (o.json) await printJson(result);
  },
});
