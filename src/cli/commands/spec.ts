/** `periscope spec set FILE | show [--version N] | log [--diff]`: the versioned spec of a store. */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { PeriscopeError } from '../../common/errors.js';
import type { SpecVersion } from '../../store/store.js';
import type { Command } from '../command.js';
import { DATA_OPTION, openCliStore } from './store-options.js';

function author(values: Record<string, string | boolean | undefined>): string {
  if (typeof values.author === 'string' && values.author !== '') return values.author;
  try {
    return process.env.USER || userInfo().username;
  } catch {
    return 'unknown';
  }
}

function changeCounts(v: SpecVersion): string {
  const lines = v.diff.split('\n');
  const plus = lines.filter((l) => l.startsWith('+') && !l.startsWith('+++')).length;
  const minus = lines.filter((l) => l.startsWith('-') && !l.startsWith('---')).length;
  return `+${plus} -${minus}`;
}

async function readSpecFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new PeriscopeError(
      'not-found',
      `cannot read the spec ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
}

export const specCommand: Command = {
  name: 'spec',
  summary: 'The versioned spec: set a new version, show one, or list every change with who and when.',
  args: 'set FILE | show | log',
  options: {
    author: { type: 'string', value: 'NAME', help: 'spec set: who made the change (default $USER)' },
    version: { type: 'string', value: 'N', help: 'spec show: this version (default: the current one)' },
    diff: { type: 'boolean', help: 'spec log: print each version’s unified diff' },
    data: DATA_OPTION,
  },
  details:
    'The current (newest) spec says what `periscope snapshot` captures and which tables, derived\n' +
    'tables and links every query sees, for old snapshots too.\n\n' +
    'Examples:\n  periscope spec set periscope.yaml --author ann\n  periscope spec log --diff\n  periscope spec show --version 2',
  async run(positionals, values) {
    const [sub, ...rest] = positionals;
    if (sub === 'set') {
      if (rest.length !== 1)
        throw new PeriscopeError('bad-usage', 'give the spec file: periscope spec set FILE');
      const text = await readSpecFile(rest[0]!);
      const store = await openCliStore(values, false);
      try {
        const r = await store.setSpec(text, author(values), rest[0]!);
        for (const w of r.warnings) process.stderr.write(`periscope: warning: ${w}\n`);
        console.log(
          r.changed ? `spec version ${r.version} stored` : `spec unchanged: still version ${r.version}`,
        );
      } finally {
        store.close();
      }
      return;
    }
    if (sub !== 'show' && sub !== 'log')
      throw new PeriscopeError(
        'bad-usage',
        'give a subcommand: periscope spec set FILE | show [--version N] | log',
      );
    if (rest.length > 0) throw new PeriscopeError('bad-usage', `unexpected argument "${rest[0]}"`);
    const store = await openCliStore(values, true);
    try {
      if (sub === 'show') {
        const n = values.version;
        if (n !== undefined && (typeof n !== 'string' || !/^[1-9]\d*$/.test(n)))
          throw new PeriscopeError('bad-usage', '--version takes a version number');
        const v = n === undefined ? await store.currentSpec() : await store.specVersion(Number(n));
        if (!v)
          throw new PeriscopeError(
            'not-found',
            n === undefined ? 'no spec has been set; periscope spec set FILE' : `no spec version ${n}`,
          );
        process.stdout.write(v.yaml.endsWith('\n') || v.yaml === '' ? v.yaml : `${v.yaml}\n`);
        return;
      }
      const log = await store.specLog();
      if (log.length === 0) console.log('no spec has been set; periscope spec set FILE');
      for (const v of [...log].reverse()) {
        console.log(`version ${v.version}  ${v.createdAt}  ${v.author}  ${changeCounts(v)}`);
        if (values.diff === true) process.stdout.write(`${v.diff}\n`);
      }
    } finally {
      store.close();
    }
  },
};
