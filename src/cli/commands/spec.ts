/** `periscope spec set FILE | show [--version N] | log [--diff]`: the versioned spec of a store. */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { PeriscopeError } from '../../common/errors.js';
import type { SpecCheckReport } from '../../server/spec-report.js';
import type { SpecVersion } from '../../store/store.js';
import { clientFrom, SERVER_OPTIONS, wantsServer } from '../client.js';
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

/** What a server's check found that the user should see once the spec was stored (forced). */
function checkLines(c: SpecCheckReport): string[] {
  const out: string[] = [];
  for (const b of c.binaries) {
    const where = `${b.executable}${b.goVersion ? ` (${b.goVersion})` : ''} on ${b.hosts.join(', ')}`;
    if (b.status === 'does-not-fit') {
      out.push(`does not fit ${where}; these entries will not be captured there:`);
      for (const p of b.problems) out.push(`  ${p.text}`);
    } else if (b.status === 'not-checked') out.push(`not checked: ${where}: ${b.reason ?? ''}`);
  }
  return [...out, ...(c.functionsMissing ?? []).map((m) => m.text), ...c.warnings];
}

/** Where spec versions live: a local store, or a server's (the same calls on either). */
interface SpecSource {
  set(
    text: string,
    author: string,
    source: string,
    force: boolean,
  ): Promise<{
    version: number;
    changed: boolean;
    warnings: readonly string[];
    check?: SpecCheckReport;
  }>;
  version(n?: number): Promise<SpecVersion | undefined>;
  log(): Promise<SpecVersion[]>;
  close(): void;
}

async function localSource(
  values: Record<string, string | boolean | undefined>,
  readOnly: boolean,
): Promise<SpecSource> {
  const store = await openCliStore(values, readOnly);
  return {
    set: (text, who, source, force) => store.setSpec(text, who, source, { force }),
    version: (n) => (n === undefined ? store.currentSpec() : store.specVersion(n)),
    log: () => store.specLog(),
    close: () => store.close(),
  };
}

function serverSource(values: Record<string, string | boolean | undefined>): SpecSource {
  const client = clientFrom(values);
  const orUndefined = async (p: Promise<SpecVersion>): Promise<SpecVersion | undefined> => {
    try {
      return await p;
    } catch (e) {
      if (
        e instanceof PeriscopeError &&
        e.kind === 'not-found' &&
        !/cannot (connect|reach|resolve)/.test(e.message)
      )
        return undefined;
      throw e;
    }
  };
  return {
    // The server records the token's name as the author.
    set: async (text, _who, source, force) => {
      const r = await client.setSpec(text, { source, force });
      return { ...r, warnings: r.warnings ?? [] };
    },
    version: (n) => orUndefined(client.specVersion(n)),
    log: async () => Promise.all((await client.specVersions()).map((v) => client.specVersion(v.version))),
    close: () => {},
  };
}

export const specCommand: Command = {
  name: 'spec',
  summary: 'The versioned spec: set a new version, show one, or list every change with who and when.',
  args: 'set FILE | show | log',
  options: {
    author: {
      type: 'string',
      value: 'NAME',
      help: 'spec set: who made the change (default $USER; with a server, the token’s name)',
    },
    version: { type: 'string', value: 'N', help: 'spec show: this version (default: the current one)' },
    diff: { type: 'boolean', help: 'spec log: print each version’s unified diff' },
    force: {
      type: 'boolean',
      help: 'spec set: store it even though it does not fit (derived tables or links that do not build; with a server, binaries an expression does not fit); the problems are printed',
    },
    data: DATA_OPTION,
    ...SERVER_OPTIONS,
  },
  details:
    'The current (newest) spec says what `periscope snapshot` captures and which tables, derived\n' +
    'tables and links every query sees, for old snapshots too. With --server (or $PERISCOPE_SERVER,\n' +
    'unless --data is given) the server’s spec, which its agents capture with.\n\n' +
    '`spec set` checks the spec before it becomes current: its derived tables and links must build\n' +
    'over the stored tables, and, with a server, every expression must fit every binary its agents\n' +
    'run (and the stored snapshots’ binaries they still have). A spec that does not fit is refused\n' +
    'with every problem at FILE:LINE:COLUMN and a non-zero exit; --force stores it anyway and prints\n' +
    'what does not fit where.\n\n' +
    'Examples:\n  periscope spec set periscope.yaml --author ann\n  periscope spec log --diff\n  periscope spec show --version 2\n' +
    '  periscope spec set demo/spec/starter.yaml --server http://127.0.0.1:7070',
  async run(positionals, values) {
    const [sub, ...rest] = positionals;
    if (sub !== 'set' && sub !== 'show' && sub !== 'log')
      throw new PeriscopeError(
        'bad-usage',
        'give a subcommand: periscope spec set FILE | show [--version N] | log',
      );
    if (sub === 'set' && rest.length !== 1)
      throw new PeriscopeError('bad-usage', 'give the spec file: periscope spec set FILE');
    if (sub !== 'set' && rest.length > 0)
      throw new PeriscopeError('bad-usage', `unexpected argument "${rest[0]}"`);
    const n = values.version;
    if (sub === 'show' && n !== undefined && (typeof n !== 'string' || !/^[1-9]\d*$/.test(n)))
      throw new PeriscopeError('bad-usage', '--version takes a version number');
    const text = sub === 'set' ? await readSpecFile(rest[0]!) : '';
    const src = wantsServer(values) ? serverSource(values) : await localSource(values, sub !== 'set');
    try {
      if (sub === 'set') {
        const r = await src.set(text, author(values), rest[0]!, values.force === true);
        for (const w of [...r.warnings, ...(r.check ? checkLines(r.check) : [])])
          process.stderr.write(`periscope: warning: ${w}\n`);
        console.log(
          r.changed ? `spec version ${r.version} stored` : `spec unchanged: still version ${r.version}`,
        );
        return;
      }
      if (sub === 'show') {
        const v = await src.version(n === undefined ? undefined : Number(n));
        if (!v)
          throw new PeriscopeError(
            'not-found',
            n === undefined ? 'no spec has been set; periscope spec set FILE' : `no spec version ${n}`,
          );
        process.stdout.write(v.yaml.endsWith('\n') || v.yaml === '' ? v.yaml : `${v.yaml}\n`);
        return;
      }
      const log = await src.log();
      if (log.length === 0) console.log('no spec has been set; periscope spec set FILE');
      for (const v of [...log].reverse()) {
        console.log(`version ${v.version}  ${v.createdAt}  ${v.author}  ${changeCounts(v)}`);
        if (values.diff === true) process.stdout.write(`${v.diff}\n`);
      }
    } finally {
      src.close();
    }
  },
};
