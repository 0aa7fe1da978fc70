/** `periscope snapshot --pid PID [--spec FILE] [--no-pause] [--json | --out FILE] [--label K=V] [--no-store]`. */
import { writeFile } from 'node:fs/promises';
import { PeriscopeError } from '../../common/errors.js';
import { absentFunctionMessage, absentUserFunctions } from '../../snapshot/spec-fit.js';
import { captureProcess, type PreparedProcess, prepareProcess } from '../../snapshot/take-snapshot.js';
import { type EffectiveSpec, effectiveSpec } from '../../spec/effective-spec.js';
import { SpecError } from '../../spec/spec-parse.js';
import { remoteSnapshot, renderSnapshotResult, SERVER_OPTIONS } from '../client.js';
import type { Command } from '../command.js';
import { printJson } from '../output.js';
import {
  checkSnapshotSpec,
  checkSnapshotStoreOptions,
  SNAPSHOT_STORE_OPTIONS,
  snapshotSpec,
  storeSnapshot,
} from './snapshot-store.js';
import { renderSnapshot } from './snapshot-view.js';

export const snapshotCommand: Command = {
  name: 'snapshot',
  summary:
    'Every goroutine of a running Go process with its stack and captured values, pausing it for about a millisecond.',
  args: '--pid PID | --server URL --select SELECTOR',
  options: {
    pid: { type: 'string', value: 'PID', help: 'the process to snapshot' },
    spec: {
      type: 'string',
      value: 'FILE',
      help: "a spec (YAML) naming functions and the expressions to capture on their frames; its tables show for this snapshot only, the store's spec is unchanged (see --set-current)",
    },
    'no-pause': {
      type: 'boolean',
      help: 'read while the process runs (no ptrace); goroutines that moved are marked',
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
      help: 'with --server: the processes, e.g. program=orders or env.ZONE=eu,exe_name~^api',
    },
    all: { type: 'boolean', help: 'with --server: every monitored process' },
    ...SNAPSHOT_STORE_OPTIONS,
    ...SERVER_OPTIONS,
  },
  details:
    'Needs root or CAP_SYS_PTRACE. The process is stopped with ptrace (no signal is delivered to it)\n' +
    'only while memory is copied; decoding happens after it runs again.\n\n' +
    'Without --spec the store’s current spec is captured with. A --spec FILE is a one-off: the\n' +
    'snapshot keeps it, its tables show when that snapshot is queried (beside the store’s spec’s\n' +
    'tables, which win a name both define), and every other snapshot is still read with the\n' +
    'store’s spec. --set-current makes FILE the store’s spec instead (like `periscope spec set`).\n\n' +
    'With --server, the server snapshots every selected process of the fleet at once.\n\n' +
    'Examples:\n  periscope snapshot --pid 4242\n  periscope snapshot --pid 4242 --spec periscope.yaml --json\n' +
    '  periscope snapshot --server http://127.0.0.1:7070 --select program=orders --label incident=42',
  async run(positionals, values) {
    if (positionals.length > 0)
      throw new PeriscopeError(
        'bad-usage',
        `unexpected argument "${positionals[0]}"; see \`periscope snapshot --help\``,
      );
    if (typeof values.server === 'string') {
      const r = await remoteSnapshot(values);
      if (values.json === true) printJson(r);
      else console.log(renderSnapshotResult(r));
      return;
    }
    const pidText = values.pid;
    if (typeof pidText !== 'string' || !/^[1-9]\d*$/.test(pidText)) {
      throw new PeriscopeError('bad-usage', 'give the process with --pid PID (a positive integer)');
    }
    checkSnapshotStoreOptions(values);
    const { spec, text: specText } = await snapshotSpec(values);
    await checkSnapshotSpec(values, specText);
    // Testing aids: hold the pause (synchronously) this long; allow it at most this long.
    const hold = Number(process.env.PERISCOPE_TEST_HOLD_PAUSE_MS ?? 0);
    const maxHold = Number(process.env.PERISCOPE_TEST_MAX_HOLD_MS ?? 0);
    const effective = effectiveSpec(spec, { defaults: values['no-default-spec'] !== true });
    const plan = prepareProcess(Number(pidText), effective);
    if (typeof values.spec === 'string') refuseAbsentFunctions(plan, effective, values.spec);
    const snap = captureProcess(Number(pidText), plan, {
      spec: effective,
      noPause: values['no-pause'] === true,
      ...(hold > 0 ? { holdPauseMs: hold } : {}),
      ...(maxHold > 0 ? { pause: { maxHoldMs: maxHold } } : {}),
    });
    if (typeof values.out === 'string') await writeFile(values.out, JSON.stringify(snap));
    if (values.json === true) printJson(snap);
    else
      console.log(
        renderSnapshot(snap, {
          system: values.system === true,
          specSource: spec.source,
        }),
      );
    const stored = await storeSnapshot(values, snap, specText);
    if (stored) (values.json === true ? console.error : console.log)(stored);
  },
};

/**
 * A function of the --spec FILE that this process's binary does not have is a mistake (the
 * file was given for this process): refused before the pause, with the nearest names. The
 * built-in entries a binary lacks are expected and stay silent.
 */
function refuseAbsentFunctions(plan: PreparedProcess, spec: EffectiveSpec, file: string): void {
  const absent = absentUserFunctions(plan.bin, spec, plan.functionsAbsent);
  if (absent.length === 0) return;
  throw new SpecError(
    file,
    absent.map((a) => ({
      line: a.at?.line ?? 1,
      column: a.at?.column ?? 1,
      message: absentFunctionMessage(a, 'this binary'),
    })),
    `nothing was captured: ${absent.length === 1 ? 'a function' : `${absent.length} functions`} of ${file} ${absent.length === 1 ? 'is' : 'are'} not in this binary (${plan.executable}):`,
  );
}
