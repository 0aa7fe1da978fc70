/**
 * Where a command works, by one rule for every command: the server given by --server, else the
 * local store given by --data, else the server configured by $PERISCOPE_SERVER, else the local
 * store of the default data directory ($PERISCOPE_DATA, else ~/.local/share/periscope).
 */
import { PeriscopeError } from '../common/errors.js';
import { type ClientTlsConfig, checkPin, clientTlsFromEnv } from '../common/tls-client.js';
import { resolveDataDir } from '../store/data-dir.js';
import type { OptionSpec, OptionValues } from './argv.js';
import { flagOption, listOption, textOption } from './options.js';

/** The server when neither --server nor $PERISCOPE_SERVER names one (commands that need a server). */
export const DEFAULT_SERVER = 'http://127.0.0.1:7070';

/** Which server, and as whom. */
export interface ServerTarget {
  readonly server: string;
  readonly token: string | undefined;
  /** The CA and pins an https:// server is checked against; whether plain http:// may leave this machine. */
  readonly tls?: ClientTlsConfig;
}

/** A server, or a local data directory. */
export type Where =
  | { readonly kind: 'server'; readonly target: ServerTarget }
  | { readonly kind: 'local'; readonly dataDir: string };

/** The options of every command that can talk to a server. */
export const SERVER_OPTIONS = {
  server: {
    type: 'string',
    value: 'URL',
    help: `the Periscope server (default $PERISCOPE_SERVER, else ${DEFAULT_SERVER})`,
  },
  token: { type: 'string', value: 'TOKEN', help: 'API token (default $PERISCOPE_TOKEN)' },
  ca: {
    type: 'string',
    value: 'FILE',
    help: "PEM CA of an https:// server's certificate, instead of the system roots (default $PERISCOPE_CA)",
  },
  pin: {
    type: 'string',
    multiple: true,
    value: 'PIN',
    help: 'accept only a server with this certificate SHA-256 (hex) or public key sha256/BASE64 (repeatable; default $PERISCOPE_PIN)',
  },
  'insecure-plain': {
    type: 'boolean',
    help: 'send the token over plain http:// to another machine, in clear (default $PERISCOPE_INSECURE_PLAIN=1)',
  },
} as const satisfies Record<string, OptionSpec>;

/** The --data option of a command that works on the local store only. */
export const DATA_OPTION: OptionSpec = {
  type: 'string',
  value: 'DIR',
  help: 'the data directory (default $PERISCOPE_DATA, else ~/.local/share/periscope)',
};

/** --server, --token and --data of a command that works on a server or the local store. */
export const SERVER_OR_LOCAL_OPTIONS = {
  server: {
    ...SERVER_OPTIONS.server,
    help: 'use this Periscope server (default $PERISCOPE_SERVER, unless --data is given)',
  },
  token: SERVER_OPTIONS.token,
  ca: SERVER_OPTIONS.ca,
  pin: SERVER_OPTIONS.pin,
  'insecure-plain': SERVER_OPTIONS['insecure-plain'],
  data: {
    type: 'string',
    value: 'DIR',
    help: 'use the local store of this data directory (without a server: $PERISCOPE_DATA, else ~/.local/share/periscope)',
  },
} as const satisfies Record<string, OptionSpec>;

/** The rule, for --help texts. */
export const WHERE_RULE =
  'It works on the server given by --server, else on the local store of --data DIR, else on\n' +
  'the server of $PERISCOPE_SERVER, else on the local store ($PERISCOPE_DATA, else\n' +
  '~/.local/share/periscope).';

function tokenOf(values: OptionValues, env: NodeJS.ProcessEnv): string | undefined {
  return textOption(values, 'token') ?? (env.PERISCOPE_TOKEN || undefined);
}

/** --ca, --pin, --insecure-plain, each else its environment variable ($PERISCOPE_CA, $PERISCOPE_PIN, $PERISCOPE_INSECURE_PLAIN). */
function tlsOf(values: OptionValues, env: NodeJS.ProcessEnv): ClientTlsConfig {
  const caFile = textOption(values, 'ca');
  return clientTlsFromEnv(
    {
      ...(caFile !== undefined ? { caFile } : {}),
      pins: listOption(values, 'pin').map(checkPin),
      insecurePlain: flagOption(values, 'insecure-plain'),
    },
    env,
  );
}

/** A server for commands that only talk to one: --server, $PERISCOPE_SERVER, else the default. */
export function serverTarget(values: OptionValues, env: NodeJS.ProcessEnv = process.env): ServerTarget {
  return {
    server: textOption(values, 'server') ?? (env.PERISCOPE_SERVER || DEFAULT_SERVER),
    token: tokenOf(values, env),
    tls: tlsOf(values, env),
  };
}

/** Where a command that can use either a server or the local store works (the rule above). */
export function whereTo(values: OptionValues, env: NodeJS.ProcessEnv = process.env): Where {
  const server = textOption(values, 'server');
  const data = textOption(values, 'data');
  if (server !== undefined && data !== undefined)
    throw new PeriscopeError('bad-usage', 'give --server URL or --data DIR, not both');
  const tls = tlsOf(values, env);
  if (server !== undefined) return { kind: 'server', target: { server, token: tokenOf(values, env), tls } };
  if (data === undefined && env.PERISCOPE_SERVER)
    return {
      kind: 'server',
      target: { server: env.PERISCOPE_SERVER, token: tokenOf(values, env), tls },
    };
  return { kind: 'local', dataDir: resolveDataDir(data, env) };
}

/** The data directory of a command that only works on the local store (export, import, server). */
export function localDataDir(values: OptionValues, env: NodeJS.ProcessEnv = process.env): string {
  return resolveDataDir(textOption(values, 'data'), env);
}
