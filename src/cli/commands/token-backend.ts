/**
 * Where `periscope token` works: a server's admin API, a data directory's tokens.json, or (with
 * `--store postgres://…`) the tokens of a scaled-out Periscope in PostgreSQL.
 */
import type { CreatedToken, RotatedToken, TokenInfo } from '../../api/responses.js';
import { PeriscopeError } from '../../common/errors.js';
import { AuditLog, localActor } from '../../store/audit-log.js';
import { programFilter } from '../../store/process-filter.js';
import { fileTokenBook, type TokenBook } from '../../store/token-book.js';
import type { Role } from '../../store/token-types.js';
import { ApiClient } from '../api-client.js';
import type { OptionValues } from '../argv.js';
import { textOption } from '../options.js';
import { type Where, whereTo } from '../target.js';

/** Where tokens live: a server's admin API, or a data directory's token file. */
export interface TokenBackend {
  create(role: Role, name?: string, expiresAt?: string, programs?: readonly string[]): Promise<CreatedToken>;
  setPrograms(id: string, programs: readonly string[] | undefined): Promise<TokenInfo>;
  rotate(id: string, expiresAt?: string, graceSeconds?: number): Promise<RotatedToken>;
  list(): Promise<readonly TokenInfo[]>;
  revoke(id: string): Promise<TokenInfo>;
  /** Where, for messages. */
  readonly location: string;
  /** Lets go of the backend's connection. */
  close(): void;
}

/** `--store postgres://…`: the scaled-out store's tokens, else where --server/--data say. */
export type TokenWhere = Where | { readonly kind: 'shared'; readonly store: string };

export async function backend(where: TokenWhere): Promise<TokenBackend> {
  if (where.kind === 'server') {
    const c = new ApiClient(where.target);
    return {
      create: (r, n, e, p) => c.createToken(r, n, e, p),
      setPrograms: (id, p) => c.setTokenPrograms(id, p ?? null),
      rotate: (id, expiresAt, graceSeconds) =>
        c.rotateToken(id, {
          ...(expiresAt ? { expiresAt } : {}),
          ...(graceSeconds ? { graceSeconds } : {}),
        }),
      list: () => c.tokens(),
      revoke: (id) => c.revokeToken(id),
      location: c.base,
      close: () => undefined,
    };
  }
  if (where.kind === 'shared') {
    // Imported only when used: the CLI loads the PostgreSQL client only for --store.
    const { openSharedTokens } = await import('../../store/shared/shared-store.js');
    return bookBackend(await openSharedTokens(where.store), undefined);
  }
  // Reading never creates the data directory; creating the first token does.
  return bookBackend(fileTokenBook(where.dataDir), where.dataDir);
}

/**
 * Tokens changed directly in their backend, each change recorded in the data directory's audit
 * log (the scaled-out store has no shared audit log yet: changes made with --store are not logged).
 */
function bookBackend(store: TokenBook, dataDir: string | undefined): TokenBackend {
  const log = dataDir === undefined ? undefined : new AuditLog(dataDir);
  const record = (
    action: 'token.create' | 'token.revoke' | 'token.rotate' | 'token.programs',
    info: TokenInfo,
    more: Record<string, unknown> = {},
  ): void => {
    log?.append({
      action,
      actor: localActor(),
      source: 'local',
      outcome: 'ok',
      details: { id: info.id, name: info.name, role: info.role, ...more },
    });
  };
  return {
    create: async (role, name, expiresAt, programs) => {
      if (programs) programFilter(programs, role);
      const { token, info } = await store.create(role, name, {
        ...(expiresAt ? { expiresAt } : {}),
        ...(programs ? { programs } : {}),
      });
      record('token.create', info, {
        ...(expiresAt ? { expiresAt } : {}),
        ...(programs ? { programs } : {}),
      });
      return { ...info, token };
    },
    setPrograms: async (id, programs) => {
      const found = store.list().find((t) => t.id === id);
      if (found && programs) programFilter(programs, found.role);
      const info = await store.setPrograms(id, programs);
      record('token.programs', info, { programs: programs ?? 'all' });
      return info;
    },
    rotate: async (id, expiresAt, graceSeconds) => {
      const { token, info, old } = await store.rotate(id, {
        ...(expiresAt ? { expiresAt } : {}),
        ...(graceSeconds ? { graceMs: graceSeconds * 1000 } : {}),
      });
      record('token.rotate', old, {
        newId: info.id,
        ...(old.expiresAt && !old.revokedAt ? { oldWorksUntil: old.expiresAt } : {}),
      });
      return { ...info, token, replaced: old };
    },
    list: async () => store.list(),
    revoke: async (id) => {
      const info = await store.revoke(id);
      record('token.revoke', info);
      return info;
    },
    location: store.location,
    close: () => store.close(),
  };
}

/** Where the tokens are: --store's PostgreSQL, else --server / --data as for every command. */
export function tokenWhere(values: OptionValues): TokenWhere {
  const store = textOption(values, 'store');
  if (store === undefined) return whereTo(values);
  if (textOption(values, 'server') !== undefined || textOption(values, 'data') !== undefined)
    throw new PeriscopeError('bad-usage', 'give --store URL, --server URL or --data DIR, not two of them');
  if (!/^postgres(ql)?:\/\//.test(store))
    throw new PeriscopeError(
      'bad-usage',
      '--store wants the postgres:// URL the servers were given as --store',
    );
  return { kind: 'shared', store };
}
