/** `periscope spec set FILE | show [--version N] | log [--diff]`: the versioned spec of a store or server. */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import type { SpecCheckReport } from '../../api/responses.js';
import { PeriscopeError } from '../../common/errors.js';
import type { SpecVersion } from '../../store/store.js';
import { ApiClient } from '../api-client.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption, positiveIntOption, textOption } from '../options.js';
import { out, warn } from '../output.js';
import { SERVER_OR_LOCAL_OPTIONS, WHERE_RULE, type Where, whereTo } from '../target.js';
import { openCliStore } from './store-options.js';

function defaultAuthor(): string {
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

async function localSource(dataDir: string, readOnly: boolean): Promise<SpecSource> {
  const store = await openCliStore(dataDir, readOnly ? 'read' : 'create');
  return {
    set: (text, who, source, force) => store.setSpec(text, who, source, { force }),
    version: (n) => (n === undefined ? store.currentSpec() : store.specVersion(n)),
    log: () => store.specLog(),
    close: () => store.close(),
  };
}

function serverSource(client: ApiClient): SpecSource {
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
    set: (text, _who, source, force) => client.setSpec(text, { source, force }),
    version: (n) => orUndefined(client.specVersion(n)),
    log: async () => Promise.all((await client.specVersions()).map((v) => client.specVersion(v.version))),
    close: () => {},
  };
}

type SpecAction =
  | { readonly action: 'set'; readonly file: string; readonly author: string; readonly force: boolean }
  | { readonly action: 'show'; readonly version: number | undefined }
  | { readonly action: 'log'; readonly diff: boolean };

export const specCommand = defineCommand({
  name: 'spec',
  summary: summaryOf('spec'),
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
    ...SERVER_OR_LOCAL_OPTIONS,
  },
  positionals: {
    min: 1,
    max: 2,
    missing: 'give a subcommand: periscope spec set FILE | show [--version N] | log',
  },
  details:
    'The current (newest) spec says what `periscope snapshot` captures and which tables, derived\n' +
    'tables and links every query sees, for old snapshots too. On a server: the server’s spec,\n' +
    `which its agents capture with. ${WHERE_RULE}\n\n` +
    '`spec set` checks the spec before it becomes current: its derived tables and links must build\n' +
    'over the stored tables, and, with a server, every expression must fit every binary its agents\n' +
    'run (and the stored snapshots’ binaries they still have). A spec that does not fit is refused\n' +
    'with every problem at FILE:LINE:COLUMN and a non-zero exit; --force stores it anyway and prints\n' +
    'what does not fit where.\n\n' +
    'Examples:\n  periscope spec set periscope.yaml --author ann\n  periscope spec log --diff\n  periscope spec show --version 2\n' +
    '  periscope spec set demo/spec/starter.yaml --server http://127.0.0.1:7070',
  parse(values, positionals): SpecAction & { readonly where: Where } {
    const [sub, file] = positionals;
    const where = whereTo(values);
    if (sub === 'set') {
      if (file === undefined)
        throw new PeriscopeError('bad-usage', 'give the spec file: periscope spec set FILE');
      return {
        action: 'set',
        file,
        author: textOption(values, 'author') || defaultAuthor(),
        force: flagOption(values, 'force'),
        where,
      };
    }
    if (sub !== 'show' && sub !== 'log')
      throw new PeriscopeError(
        'bad-usage',
        `unknown subcommand "${sub}"; give one of: periscope spec set FILE | show [--version N] | log`,
      );
    if (file !== undefined) throw new PeriscopeError('bad-usage', `unexpected argument "${file}"`);
    if (sub === 'show')
      return { action: 'show', version: positiveIntOption(values, 'version', 'a version number'), where };
    return { action: 'log', diff: flagOption(values, 'diff'), where };
  },
  async run(o) {
    const text = o.action === 'set' ? await readSpecFile(o.file) : '';
    const src =
      o.where.kind === 'server'
        ? serverSource(new ApiClient(o.where.target))
        : await localSource(o.where.dataDir, o.action !== 'set');
    try {
      if (o.action === 'set') {
        const r = await src.set(text, o.author, o.file, o.force);
        for (const w of [...r.warnings, ...(r.check ? checkLines(r.check) : [])]) warn(w);
        out(r.changed ? `spec version ${r.version} stored` : `spec unchanged: still version ${r.version}`);
        return;
      }
      if (o.action === 'show') {
        const v = await src.version(o.version);
        if (!v)
          throw new PeriscopeError(
            'not-found',
            o.version === undefined
              ? 'no spec has been set; periscope spec set FILE'
              : `no spec version ${o.version}`,
          );
        if (v.yaml !== '') out(v.yaml);
        return;
      }
      const log = await src.log();
      if (log.length === 0) out('no spec has been set; periscope spec set FILE');
      for (const v of [...log].reverse()) {
        out(`version ${v.version}  ${v.createdAt}  ${v.author}  ${changeCounts(v)}`);
        if (o.diff) process.stdout.write(`${v.diff}\n`);
      }
    } finally {
      src.close();
    }
  },
});
