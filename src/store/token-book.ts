/**
 * What the server and the CLI need of the tokens, whichever backend keeps them: `tokens.json`
 * of a data directory (`fileTokenBook`) or the `tokens` table of the scaled-out store's
 * PostgreSQL (`shared/pg-tokens.ts`). Checks are synchronous (every request and every agent
 * pong makes one) and read records held in memory; changes are asynchronous and written through.
 */
import type { Role, TokenInfo } from './token-types.js';
import { TokenStore } from './tokens.js';

/** The first tokens a server creates when its backend holds none. */
export interface FirstTokens {
  readonly admin: string;
  readonly agent: string;
}

/** Tokens as the server and the CLI use them. */
export interface TokenBook {
  /** Where the tokens are, for messages (a file path, or the PostgreSQL URL without password). */
  readonly location: string;
  /** The token's identity if it is valid, active and not revoked, else undefined. */
  verify(token: string | undefined): TokenInfo | undefined;
  /** Why a real token that `verify` refuses is refused (revoked, rotated, expired), else undefined. */
  refusal(token: string | undefined): string | undefined;
  /** Every token ever created (revoked ones too), oldest first. */
  list(): TokenInfo[];
  /** Creates a token; the returned `token` is the only time its secret exists in clear. */
  create(
    role: Role,
    name?: string,
    opts?: { expiresAt?: string; programs?: readonly string[] },
  ): Promise<{ token: string; info: TokenInfo }>;
  /** Replaces a token by a new one (same role, name, programs); the old one revoked or kept for `graceMs`. */
  rotate(
    id: string,
    opts?: { expiresAt?: string; graceMs?: number },
  ): Promise<{ token: string; info: TokenInfo; old: TokenInfo }>;
  /** Revokes a token by id. */
  revoke(id: string): Promise<TokenInfo>;
  /** Sets the programs a token may see, or lifts the limit (undefined). */
  setPrograms(id: string, programs: readonly string[] | undefined): Promise<TokenInfo>;
  /** Creates a first admin and agent token when there is no token at all (atomically); else undefined. */
  createFirst(): Promise<FirstTokens | undefined>;
  /** Stops watching for changes (the backend's connection is its owner's to close). */
  close(): void;
}

/** The tokens of a data directory's `tokens.json` as a TokenBook. */
export function fileTokenBook(dataDir: string): TokenBook & { readonly store: TokenStore } {
  const store = new TokenStore(dataDir);
  return {
    store,
    location: store.path,
    verify: (token) => store.verify(token),
    refusal: (token) => store.refusal(token),
    list: () => store.list(),
    create: async (role, name, opts) => store.create(role, name, opts),
    rotate: async (id, opts) => store.rotate(id, opts),
    revoke: async (id) => store.revoke(id),
    setPrograms: async (id, programs) => store.setPrograms(id, programs),
    createFirst: async () =>
      store.list().length > 0
        ? undefined
        : {
            admin: store.create('admin', 'first-admin').token,
            agent: store.create('agent', 'first-agent').token,
          },
    close: () => undefined,
  };
}
