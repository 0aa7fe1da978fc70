/**
 * `periscope token create|list|revoke`: tokens of a server. On a server they use its admin API;
 * on a data directory they work on its token file directly (how the first tokens come to exist,
 * and a way back in when every admin token is lost); with `--store postgres://…` on the tokens of
 * a scaled-out Periscope in PostgreSQL.
 */
import { PeriscopeError } from '../../common/errors.js';
import { isRole, ROLES, type Role, tokenState } from '../../store/token-types.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { durationOption, expiryOption, flagOption, textOption } from '../options.js';
import { out, printJson, renderTable } from '../output.js';
import { SERVER_OR_LOCAL_OPTIONS, WHERE_RULE } from '../target.js';
import { backend, type TokenBackend, type TokenWhere, tokenWhere } from './token-backend.js';

const USAGE =
  'use `periscope token create --role ROLE [--name N] [--expires 30d] [--programs P]`, `periscope token list`, `periscope token programs ID --programs P|all`, `periscope token rotate ID [--grace 1h]` or `periscope token revoke ID`';

/**
 * The selectors of `--programs`: `;`-separated selectors (`program=orders,hostname~web-.*`);
 * an item without an operator is a comma-separated list of program names (`orders,billing`).
 * `all`: no limit (undefined).
 */
export function programsOption(text: string): string[] | undefined {
  if (text.trim() === 'all') return undefined;
  return text
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .flatMap((s) =>
      /[=~]/.test(s)
        ? [s]
        : s
            .split(',')
            .map((n) => n.trim())
            .filter((n) => n !== '')
            .map((n) => `program=${n}`),
    );
}

type TokenAction =
  | {
      readonly action: 'create';
      readonly role: Role;
      readonly name: string | undefined;
      readonly expiresAt: string | undefined;
      readonly programs: string[] | undefined;
    }
  | { readonly action: 'programs'; readonly id: string; readonly programs: string[] | undefined }
  | {
      readonly action: 'rotate';
      readonly id: string;
      readonly expiresAt: string | undefined;
      readonly graceSeconds: number | undefined;
    }
  | { readonly action: 'list' }
  | { readonly action: 'revoke'; readonly id: string };

export const tokenCommand = defineCommand({
  name: 'token',
  summary: summaryOf('token'),
  args: 'create|list|programs|rotate|revoke [ID]',
  options: {
    role: { type: 'string', value: 'ROLE', help: `create: ${ROLES.join(' | ')}` },
    name: { type: 'string', value: 'NAME', help: 'create: a name to recognise the token by' },
    expires: {
      type: 'string',
      value: 'WHEN',
      help: 'create, rotate: the (new) token stops working after this duration (30d, 12h, …) or ISO time',
    },
    programs: {
      type: 'string',
      value: 'PROGRAMS',
      help: 'create, programs: limit a user token to these programs: names (orders,billing) or `;`-separated selectors (program=orders;hostname~web-.*); programs: `all` lifts the limit',
    },
    grace: {
      type: 'string',
      value: 'DURATION',
      help: 'rotate: the old token keeps working this long (default: revoked at once)',
    },
    ...SERVER_OR_LOCAL_OPTIONS,
    store: {
      type: 'string',
      value: 'URL',
      help: "the tokens of a scaled-out Periscope, in this PostgreSQL (postgres://…, the servers' --store)",
    },
    token: {
      ...SERVER_OR_LOCAL_OPTIONS.token,
      help: 'on a server: an admin token (default $PERISCOPE_TOKEN)',
    },
    json: { type: 'boolean', help: 'print JSON' },
  },
  positionals: { min: 1, max: 2, missing: USAGE },
  details:
    'Roles: agent tokens only connect agents; user tokens read data, take snapshots and edit the\n' +
    'spec; admin tokens also manage tokens. A token is printed once, when created; only its hash\n' +
    'is stored. Revoking, expiry and rotation take effect at once, also on a running server (an\n' +
    'agent connected with a token that stops working is disconnected). `rotate` makes a new token\n' +
    'with the same role and name and revokes the old one, or lets it work for --grace longer.\n' +
    "A user token made with --programs sees and snapshots only those programs' processes, in\n" +
    'every API route and SQL table; `programs ID --programs P|all` changes that at once.\n' +
    `${WHERE_RULE} On a data directory, give\nthe server's (--data DIR); listing never creates it. With --store postgres://… it works on\nthe tokens of a scaled-out Periscope (every server given that --store uses them; a change\nreaches the other servers within about a second).\n\n` +
    'Examples:\n  periscope token create --role agent --name rack-7 --data /var/lib/periscope\n  periscope token create --role user --name ci --expires 30d\n  periscope token create --role user --name team-a --programs orders,billing\n  periscope token programs 3f9a0c12b4de --programs all\n  periscope token list\n  periscope token rotate 3f9a0c12b4de --grace 1h\n  periscope token revoke 3f9a0c12b4de',
  parse(values, positionals): TokenAction & { readonly where: TokenWhere; readonly json: boolean } {
    const [action, id] = positionals;
    const common = { where: tokenWhere(values), json: flagOption(values, 'json') };
    if (action === 'rotate') {
      if (!id)
        throw new PeriscopeError(
          'bad-usage',
          'give the id of the token to rotate (see `periscope token list`)',
        );
      return {
        action,
        id,
        expiresAt: expiryOption(values, 'expires'),
        graceSeconds: durationOption(values, 'grace'),
        ...common,
      };
    }
    if (action === 'programs') {
      if (!id)
        throw new PeriscopeError(
          'bad-usage',
          'give the id of the token to limit (see `periscope token list`)',
        );
      const text = textOption(values, 'programs');
      if (text === undefined)
        throw new PeriscopeError(
          'bad-usage',
          'give --programs NAMES (or selectors), or --programs all to lift the limit',
        );
      return { action, id, programs: programsOption(text), ...common };
    }
    if (action === 'revoke') {
      if (!id)
        throw new PeriscopeError(
          'bad-usage',
          'give the id of the token to revoke (see `periscope token list`)',
        );
      return { action, id, ...common };
    }
    if (action !== 'create' && action !== 'list')
      throw new PeriscopeError('bad-usage', `unknown action "${action}"; ${USAGE}`);
    if (id !== undefined) throw new PeriscopeError('bad-usage', `unexpected argument "${id}"; ${USAGE}`);
    if (action === 'list') return { action, ...common };
    const role = textOption(values, 'role');
    if (role === undefined) throw new PeriscopeError('bad-usage', `give --role ${ROLES.join('|')}`);
    if (!isRole(role)) throw new PeriscopeError('bad-usage', `--role must be one of ${ROLES.join(', ')}`);
    return {
      action,
      role,
      name: textOption(values, 'name'),
      expiresAt: expiryOption(values, 'expires'),
      programs: ((t) => (t === undefined ? undefined : programsOption(t)))(textOption(values, 'programs')),
      ...common,
    };
  },
  async run(o) {
    const b = await backend(o.where);
    try {
      await runAction(o, b);
    } finally {
      b.close();
    }
  },
});

/** Does one token action on a backend and prints what came of it. */
async function runAction(o: TokenAction & { readonly json: boolean }, b: TokenBackend): Promise<void> {
  {
    if (o.action === 'create') {
      const created = await b.create(o.role, o.name, o.expiresAt, o.programs);
      if (o.json) return await printJson(created);
      out(created.token);
      process.stderr.write(
        `created ${created.role} token ${created.id} (${created.name})${created.expiresAt ? `, expires ${created.expiresAt}` : ''}${created.programs ? `, limited to ${created.programs.join('; ')}` : ''}; it is shown only now\n`,
      );
      return;
    }
    if (o.action === 'programs') {
      const info = await b.setPrograms(o.id, o.programs);
      if (o.json) return await printJson(info);
      return out(
        `${info.role} token ${info.id} (${info.name}) ${info.programs ? `is limited to ${info.programs.join('; ')}` : 'sees every program'}`,
      );
    }
    if (o.action === 'rotate') {
      const rotated = await b.rotate(o.id, o.expiresAt, o.graceSeconds);
      if (o.json) return await printJson(rotated);
      out(rotated.token);
      const old = rotated.replaced;
      process.stderr.write(
        `rotated ${old.role} token ${old.id} (${old.name}): the new one is ${rotated.id}${rotated.expiresAt ? `, expires ${rotated.expiresAt}` : ''}, shown only now; the old one ${old.revokedAt ? 'is revoked' : `works until ${old.expiresAt}`}\n`,
      );
      return;
    }
    if (o.action === 'list') {
      const list = await b.list();
      if (o.json) return await printJson(list);
      if (list.length === 0) return out(`no tokens yet (${b.location})`);
      const rows = list.map((t) => {
        const state = tokenState(t);
        return [
          t.id,
          t.role,
          state === 'revoked'
            ? `revoked ${t.revokedAt}`
            : state === 'expired'
              ? `expired ${t.expiresAt}`
              : 'active',
          t.createdAt,
          state === 'active' && t.expiresAt ? t.expiresAt : '-',
          t.name,
          t.programs ? t.programs.join('; ') : 'all',
        ];
      });
      return out(renderTable(['ID', 'ROLE', 'STATE', 'CREATED', 'EXPIRES', 'NAME', 'PROGRAMS'], rows));
    }
    const info = await b.revoke(o.id);
    if (o.json) return await printJson(info);
    out(`revoked ${info.role} token ${info.id} (${info.name})`);
  }
}
