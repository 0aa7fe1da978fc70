/**
 * `periscope token create|list|revoke`: tokens of a server. Without --server they work on the
 * data directory directly (how the first tokens come to exist, and a way back in when every
 * admin token is lost); with --server they use the admin API.
 */
import { PeriscopeError } from '../../common/errors.js';
import { isRole, ROLES, type TokenInfo, TokenStore } from '../../server/tokens.js';
import { resolveDataDir } from '../../store/data-dir.js';
import { ApiClient, SERVER_OPTIONS, serverTarget } from '../client.js';
import type { Command } from '../command.js';
import { printJson } from '../output.js';
import { renderTable } from './agents.js';

const USAGE =
  'use `periscope token create --role ROLE [--name N]`, `periscope token list` or `periscope token revoke ID`';

interface TokenBackend {
  create(role: string, name?: string): Promise<TokenInfo & { token: string }>;
  list(): Promise<TokenInfo[]>;
  revoke(id: string): Promise<TokenInfo>;
}

function backend(values: Record<string, string | boolean | undefined>): TokenBackend {
  if (typeof values.server === 'string') {
    const { server, token } = serverTarget(values);
    const c = new ApiClient(server, token);
    return {
      create: (r, n) => c.createToken(r, n),
      list: () => c.tokens(),
      revoke: (id) => c.revokeToken(id),
    };
  }
  const store = new TokenStore(resolveDataDir(typeof values.data === 'string' ? values.data : undefined));
  return {
    create: async (role, name) => {
      if (!isRole(role)) throw new PeriscopeError('bad-usage', `--role must be one of ${ROLES.join(', ')}`);
      const { token, info } = store.create(role, name);
      return { ...info, token };
    },
    list: async () => store.list(),
    revoke: async (id) => store.revoke(id),
  };
}

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Create, list and revoke the tokens of a Periscope server (agent, user, admin).',
  args: 'create|list|revoke [ID]',
  options: {
    role: { type: 'string', value: 'ROLE', help: `create: ${ROLES.join(' | ')}` },
    name: { type: 'string', value: 'NAME', help: 'create: a name to recognise the token by' },
    data: {
      type: 'string',
      value: 'DIR',
      help: "the server's data directory (default $PERISCOPE_DATA, else ~/.local/share/periscope)",
    },
    server: {
      ...SERVER_OPTIONS.server,
      help: 'use the admin API of this server instead of the data directory',
    },
    token: { ...SERVER_OPTIONS.token, help: 'with --server: an admin token (default $PERISCOPE_TOKEN)' },
    json: { type: 'boolean', help: 'print JSON' },
  },
  details:
    'Roles: agent tokens only connect agents; user tokens read data, take snapshots and edit the\n' +
    'spec; admin tokens also manage tokens. A token is printed once, when created; only its hash\n' +
    'is stored. Revoking takes effect at once, also on a running server.\n\n' +
    'Examples:\n  periscope token create --role agent --name rack-7\n  periscope token list\n  periscope token revoke 3f9a0c12b4de',
  async run(positionals, values) {
    const [action, id, ...extra] = positionals;
    if (extra.length > 0)
      throw new PeriscopeError('bad-usage', `unexpected argument "${extra[0]}"; ${USAGE}`);
    const b = backend(values);
    const json = values.json === true;
    if (action === 'create') {
      const role = values.role;
      if (typeof role !== 'string') throw new PeriscopeError('bad-usage', `give --role ${ROLES.join('|')}`);
      const created = await b.create(role, typeof values.name === 'string' ? values.name : undefined);
      if (json) return printJson(created);
      console.log(created.token);
      console.error(`created ${created.role} token ${created.id} (${created.name}); it is shown only now`);
      return;
    }
    if (action === 'list') {
      const list = await b.list();
      if (json) return printJson(list);
      if (list.length === 0) return void console.log('no tokens yet');
      const rows = list.map((t) => [
        t.id,
        t.role,
        t.revokedAt ? `revoked ${t.revokedAt}` : 'active',
        t.createdAt,
        t.name,
      ]);
      console.log(renderTable(['ID', 'ROLE', 'STATE', 'CREATED', 'NAME'], rows));
      return;
    }
    if (action === 'revoke') {
      if (!id)
        throw new PeriscopeError(
          'bad-usage',
          'give the id of the token to revoke (see `periscope token list`)',
        );
      const info = await b.revoke(id);
      if (json) return printJson(info);
      console.log(`revoked ${info.role} token ${info.id} (${info.name})`);
      return;
    }
    throw new PeriscopeError('bad-usage', action ? `unknown action "${action}"; ${USAGE}` : USAGE);
  },
};
