/**
 * `periscope snapshot --pid PID [--spec FILE] …` (a process of this machine, into the local store)
 * or `periscope snapshot --select SELECTOR | --all` (the fleet, through a server).
 */
import { snapshotRequestBody } from '../../api/requests.js';
import { PeriscopeError } from '../../common/errors.js';
import { defineCommand, type OptionValues } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption, labelOptions, pauseCapOption, textOption } from '../options.js';
import { SERVER_OR_LOCAL_OPTIONS, WHERE_RULE, whereTo } from '../target.js';
import type { FleetSnapshotOptions } from './snapshot-fleet.js';
import type { LocalSnapshotOptions } from './snapshot-local.js';

/** Options that only mean something for a snapshot of a local process. */
const LOCAL_ONLY = ['pause-cap-ms', 'spec', 'set-current', 'out', 'system', 'no-default-spec', 'no-store'];

function given(values: OptionValues, names: readonly string[]): string[] {
  return names.filter((n) => values[n] !== undefined).map((n) => `--${n}`);
}

type SnapshotOptions =
  | ({ readonly kind: 'local' } & LocalSnapshotOptions)
  | ({ readonly kind: 'server' } & FleetSnapshotOptions);

export const snapshotCommand = defineCommand({
  name: 'snapshot',
  summary: summaryOf('snapshot'),
  args: '--pid PID | --select SELECTOR | --all',
  options: {
    pid: { type: 'string', value: 'PID', help: 'the local process to snapshot (into the local store)' },
    spec: {
      type: 'string',
      value: 'FILE',
      help: "a spec (YAML) naming functions and the expressions to capture on their frames; its tables show for this snapshot only, the store's spec is unchanged (see --set-current)",
    },
    'set-current': {
      type: 'boolean',
      help: "with --spec: make FILE the store's spec, for every snapshot (checked like `periscope spec set`)",
    },
    'no-pause': {
      type: 'boolean',
      help: 'read while the process runs (no ptrace); goroutines that moved are marked',
    },
    'pause-cap-ms': {
      type: 'string',
      value: 'MS',
      help: 'the longest the process may stay stopped; past it it is resumed and the snapshot marked partial (default 100)',
    },
    system: { type: 'boolean', help: 'also list runtime-internal goroutines in the summary' },
    json: { type: 'boolean', help: 'print the full snapshot as JSON' },
    out: {
      type: 'string',
      value: 'FILE',
      help: 'write the full snapshot as JSON to FILE (the summary still prints)',
    },
    'no-default-spec': {
      type: 'boolean',
      help: 'capture without the built-in spec (gRPC and net/http client/server tables and links)',
    },
    select: {
      type: 'string',
      value: 'SELECTOR',
      help: 'on a server: the processes, e.g. program=orders or env.ZONE=eu,exe_name~^api',
    },
    all: { type: 'boolean', help: 'on a server: every monitored process' },
    label: {
      type: 'string',
      multiple: true,
      value: 'KEY=VALUE',
      help: 'a label of the stored snapshot (repeatable)',
    },
    'no-store': { type: 'boolean', help: 'do not store the snapshot (only print it)' },
    ...SERVER_OR_LOCAL_OPTIONS,
  },
  details:
    'Needs root or CAP_SYS_PTRACE. The process is stopped with ptrace (no signal is delivered to it)\n' +
    'only while memory is copied; decoding happens after it runs again.\n\n' +
    'Without --spec the store’s current spec is captured with. A --spec FILE is a one-off: the\n' +
    'snapshot keeps it, its tables show when that snapshot is queried (beside the store’s spec’s\n' +
    'tables, which win a name both define), and every other snapshot is still read with the\n' +
    'store’s spec. --set-current makes FILE the store’s spec instead (like `periscope spec set`).\n' +
    'A function of FILE that the process’s binary does not have is an error (nothing is captured).\n\n' +
    'On a server, the server snapshots every selected process of the fleet at once, with its spec.\n' +
    `${WHERE_RULE}\n\n` +
    'Exit codes: 0 every process was captured; 3 some were captured, some not (the snapshot is\n' +
    'stored with the failures); 4 no process was captured; 1 another error; 2 a wrong command line.\n\n' +
    'Examples:\n  periscope snapshot --pid 4242\n  periscope snapshot --pid 4242 --spec periscope.yaml --json\n' +
    '  periscope snapshot --server http://127.0.0.1:7070 --select program=orders --label incident=42',
  parse(values): SnapshotOptions {
    const where = whereTo(values);
    const labels = labelOptions(values);
    const noPause = flagOption(values, 'no-pause');
    const json = flagOption(values, 'json');
    if (where.kind === 'server') {
      const named = textOption(values, 'server') !== undefined ? '--server' : '$PERISCOPE_SERVER';
      if (values.pid !== undefined)
        throw new PeriscopeError(
          'bad-usage',
          `--pid snapshots a process of this machine into the local store, but ${named} names a server: give --data DIR to use the local store, or --select pid=PID,hostname=HOST to snapshot through the server`,
        );
      const localOnly = given(values, LOCAL_ONLY);
      if (localOnly.length > 0)
        throw new PeriscopeError(
          'bad-usage',
          `${localOnly.join(', ')} only apply to a snapshot of a local process (--pid); the server captures with its spec (periscope spec set)`,
        );
      const select = textOption(values, 'select');
      const all = flagOption(values, 'all');
      if (select === undefined && !all)
        throw new PeriscopeError(
          'bad-usage',
          'on a server, say which processes: --select SELECTOR (e.g. program=orders) or --all',
        );
      return {
        kind: 'server',
        target: where.target,
        request: snapshotRequestBody({ select, all, labels, noPause }),
        json,
      };
    }
    const fleetOnly = given(values, ['select', 'all']);
    if (fleetOnly.length > 0)
      throw new PeriscopeError(
        'bad-usage',
        `${fleetOnly.join(' and ')} select processes of a fleet and need a server: give --server URL or set $PERISCOPE_SERVER (here: the local store ${where.dataDir})`,
      );
    const pidText = textOption(values, 'pid');
    if (pidText === undefined || !/^[1-9]\d{0,9}$/.test(pidText))
      throw new PeriscopeError(
        'bad-usage',
        `give the process with --pid PID (a positive integer)${pidText === undefined ? '' : `, not "${pidText}"`}`,
      );
    const pid = Number(pidText);
    const capMs = pauseCapOption(values);
    const pauseCap = capMs !== undefined ? { pauseCapMs: capMs } : {};
    const specFile = textOption(values, 'spec');
    const setCurrent = flagOption(values, 'set-current');
    if (setCurrent && specFile === undefined)
      throw new PeriscopeError(
        'bad-usage',
        '--set-current makes the --spec FILE the store’s spec; give --spec FILE',
      );
    if (setCurrent && flagOption(values, 'no-store'))
      throw new PeriscopeError('bad-usage', '--set-current and --no-store contradict each other: choose one');
    return {
      kind: 'local',
      pid,
      dataDir: where.dataDir,
      specFile,
      setCurrent,
      defaultSpec: !flagOption(values, 'no-default-spec'),
      noPause,
      ...pauseCap,
      labels,
      store: !flagOption(values, 'no-store'),
      json,
      outFile: textOption(values, 'out'),
      system: flagOption(values, 'system'),
    };
  },
  // Imported here: a local snapshot loads the DWARF stack, koffi and DuckDB, a fleet one only HTTP.
  async run(o) {
    if (o.kind === 'server') return (await import('./snapshot-fleet.js')).fleetSnapshot(o);
    return (await import('./snapshot-local.js')).localSnapshot(o);
  },
});
