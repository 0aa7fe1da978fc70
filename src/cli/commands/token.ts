/**
 * `periscope token create|list|revoke`: tokens of a server. On a server they use its admin API;
 * on a data directory they work on its token file directly (how the first tokens come to exist,
 * and a way back in when every admin token is lost).
 */
import type { CreatedToken, TokenInfo } from '../../api/responses.js';
import { PeriscopeError } from '../../common/errors.js';
import { isRole, ROLES, type Role } from '../../store/token-types.js';
import { TokenStore } from '../../store/tokens.js';
import { ApiClient } from '../api-client.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption, textOption } from '../options.js';
import { out, printJson, renderTable } from '../output.js';
import { SERVER_OR_LOCAL_OPTIONS, WHERE_RULE, type Where, whereTo } from '../target.js';

const USAGE =
  'use `periscope token create --role ROLE [--name N]`, `periscope token list` or `periscope token revoke ID`';

/** Where tokens live: a server's admin API, or a data directory's token file. */
interface TokenBackend {
  create(role: Role, name?: string): Promise<CreatedToken>;
  list(): Promise<readonly TokenInfo[]>;
  revoke(id: string): Promise<TokenInfo>;
  /** Where, for messages. */
  readonly location: string;
}

function backend(where: Where): TokenBackend {
  if (where.kind === 'server') {
    const c = new ApiClient(where.target);
    return {
      create: (r, n) => c.createToken(r, n),
      list: () => c.tokens(),
      revoke: (id) => c.revokeToken(id),
      location: c.base,
    };
  }
  // Reading never creates the data directory; creating the first token does.
  const store = new TokenStore(where.dataDir);
  return {
    create: async (role, name) => {
      const { token, info } = store.create(role, name);
      return { ...info, token };
    },
    list: async () => store.list(),
    revoke: async (id) => store.revoke(id),
    location: where.dataDir,
  };
}

type TokenAction =
  | { readonly action: 'create'; readonly role: Role; readonly name: string | undefined }
  | { readonly action: 'list' }
  | { readonly action: 'revoke'; readonly id: string };

export const tokenCommand = defineCommand({
  name: 'token',
  summary: summaryOf('token'),
  args: 'create|list|revoke [ID]',
  options: {
    role: { type: 'string', value: 'ROLE', help: `create: ${ROLES.join(' | ')}` },
    name: { type: 'string', value: 'NAME', help: 'create: a name to recognise the token by' },
    ...SERVER_OR_LOCAL_OPTIONS,
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
    'is stored. Revoking takes effect at once, also on a running server.\n' +
    `${WHERE_RULE} On a data directory, give\nthe server's (--data DIR); listing never creates it.\n\n` +
    'Examples:\n  periscope token create --role agent --name rack-7 --data /var/lib/periscope\n  periscope token list\n  periscope token revoke 3f9a0c12b4de',
  parse(values, positionals): TokenAction & { readonly where: Where; readonly json: boolean } {
    const [action, id] = positionals;
    const common = { where: whereTo(values), json: flagOption(values, 'json') };
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
    return { action, role, name: textOption(values, 'name'), ...common };
  },
  async run(o) {
    const b = backend(o.where);
    if (o.action === 'create') {
      const created = await b.create(o.role, o.name);
      if (o.json) return printJson(created);
      out(created.token);
      process.stderr.write(
        `created ${created.role} token ${created.id} (${created.name}); it is shown only now\n`,
      );
      return;
    }
    if (o.action === 'list') {
      const list = await b.list();
      if (o.json) return printJson(list);
      if (list.length === 0) return out(`no tokens yet (${b.location})`);
      const rows = list.map((t) => [
        t.id,
        t.role,
        t.revokedAt ? `revoked ${t.revokedAt}` : 'active',
        t.createdAt,
        t.name,
      ]);
      return out(renderTable(['ID', 'ROLE', 'STATE', 'CREATED', 'NAME'], rows));
    }
    const info = await b.revoke(o.id);
    if (o.json) return printJson(info);
    out(`revoked ${info.role} token ${info.id} (${info.name})`);
  },
});
