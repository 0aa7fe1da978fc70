/** `periscope server [--listen HOST:PORT] [--data DIR] [--static DIR]`: the fleet server, embedded storage. */
import { PeriscopeError } from '../../common/errors.js';
import { isLoopbackHost } from '../../common/tls-client.js';
import { type ServerOptions, startServer } from '../../server/server.js';
import { parseRetentionRule } from '../../store/retention.js';
import { defineCommand, EXIT, type OptionValues } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption, listOption, parseListen as parseListenOption, textOption } from '../options.js';
import { localDataDir } from '../target.js';

/** Splits `HOST:PORT` (kept here for callers of the server command's module). */
export function parseListen(text: string): { host: string; port: number } {
  return parseListenOption(text, '--listen');
}

function ms(values: OptionValues, name: string): number | undefined {
  const v = textOption(values, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new PeriscopeError('bad-usage', `--${name} must be a positive number of milliseconds`);
  return n;
}

/** `--otlp-endpoint URL` and its `--otlp-header NAME=VALUE`s. */
function otlpOption(values: OptionValues): ServerOptions['otlp'] {
  const endpoint = textOption(values, 'otlp-endpoint');
  const headerTexts = listOption(values, 'otlp-header');
  if (endpoint === undefined) {
    if (headerTexts.length > 0)
      throw new PeriscopeError('bad-usage', '--otlp-header needs --otlp-endpoint URL');
    return undefined;
  }
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol))
    throw new PeriscopeError(
      'bad-usage',
      `--otlp-endpoint "${endpoint}" is not an http(s):// URL (e.g. http://collector:4318)`,
    );
  const headers: Record<string, string> = {};
  for (const h of headerTexts) {
    const eq = h.indexOf('=');
    if (eq <= 0) throw new PeriscopeError('bad-usage', `--otlp-header wants NAME=VALUE, got "${h}"`);
    headers[h.slice(0, eq).trim()] = h.slice(eq + 1);
  }
  return { endpoint, ...(headerTexts.length > 0 ? { headers } : {}) };
}

/**
 * `--store URL --objects URL [--cache-mb MB] [--compact-probes-after MINUTES]` (or
 * PERISCOPE_STORE, PERISCOPE_OBJECTS): the scaled-out store.
 */
function sharedOption(values: OptionValues): ServerOptions['shared'] {
  const store = textOption(values, 'store') ?? (process.env.PERISCOPE_STORE || undefined);
  const objects = textOption(values, 'objects') ?? (process.env.PERISCOPE_OBJECTS || undefined);
  const cacheText = textOption(values, 'cache-mb');
  const compactText = textOption(values, 'compact-probes-after');
  if (store === undefined) {
    const alone =
      objects !== undefined
        ? '--objects'
        : cacheText !== undefined
          ? '--cache-mb'
          : compactText !== undefined
            ? '--compact-probes-after'
            : undefined;
    if (alone)
      throw new PeriscopeError(
        'bad-usage',
        `${alone} needs --store postgres://… (the scaled-out store; docs/storage.md)`,
      );
    return undefined;
  }
  if (!/^postgres(ql)?:\/\//.test(store))
    throw new PeriscopeError(
      'bad-usage',
      '--store wants a postgres:// URL (postgres://USER:PASSWORD@HOST:PORT/DB); without --store the server uses the embedded store in --data',
    );
  if (objects === undefined)
    throw new PeriscopeError(
      'bad-usage',
      '--store needs --objects URL (file:///DIR or s3://BUCKET/PREFIX): where the snapshot data goes',
    );
  const cacheMb = cacheText === undefined ? undefined : Number(cacheText);
  if (cacheMb !== undefined && !(cacheMb > 0))
    throw new PeriscopeError(
      'bad-usage',
      `--cache-mb "${cacheText}" is not a positive number of MiB (e.g. 2048)`,
    );
  const compactMin = compactText === undefined ? undefined : Number(compactText);
  if (compactMin !== undefined && !(compactMin > 0 && compactMin <= 1440))
    throw new PeriscopeError(
      'bad-usage',
      `--compact-probes-after "${compactText}" is not a number of minutes from 1 to 1440 (default 5)`,
    );
  return {
    store,
    objects,
    ...(cacheMb !== undefined ? { cacheMb } : {}),
    ...(compactMin !== undefined ? { probeCompaction: { ageMs: compactMin * 60_000 } } : {}),
  };
}

export const serverCommand = defineCommand({
  name: 'server',
  summary: summaryOf('server'),
  args: '',
  options: {
    listen: { type: 'string', value: 'HOST:PORT', help: 'where to listen (default 127.0.0.1:7070)' },
    data: {
      type: 'string',
      value: 'DIR',
      help: 'data directory: store, tokens (default $PERISCOPE_DATA, else ~/.local/share/periscope)',
    },
    static: {
      type: 'string',
      value: 'DIR',
      help: 'serve the web app from DIR (default: the one npm run build wrote to dist/web/)',
    },
    'prepare-timeout': {
      type: 'string',
      value: 'MS',
      help: "how long an agent's prepare, spec check or function description may go without progress (default 30000; for agents that do not report progress, how long it may take)",
    },
    'prepare-max-wait': {
      type: 'string',
      value: 'MS',
      help: 'how long a prepare, spec check or function description that keeps progressing may take at most (default 180000)',
    },
    'capture-timeout': {
      type: 'string',
      value: 'MS',
      help: 'how long agents get to capture (default 60000)',
    },
    retain: {
      type: 'string',
      multiple: true,
      value: 'PROGRAM=AGE',
      help: 'delete snapshots of PROGRAM older than AGE (30d, 12h, …; * = every program without a rule of its own), hourly and at start (repeatable)',
    },
    'audit-rotate-mb': {
      type: 'string',
      value: 'MB',
      help: 'rotate the audit log past this many MiB (default 64); rotated files stay, chained, and go with --retain *=AGE (docs/security.md)',
    },
    'tls-cert': {
      type: 'string',
      value: 'FILE',
      help: 'serve HTTPS with this PEM certificate (chain after it); re-read when it changes (env PERISCOPE_TLS_CERT)',
    },
    'tls-key': {
      type: 'string',
      value: 'FILE',
      help: "the certificate's PEM key, re-read with it (env PERISCOPE_TLS_KEY)",
    },
    'tls-client-ca': {
      type: 'string',
      value: 'FILE',
      help: 'mutual TLS: agents must present a certificate this PEM CA signed (env PERISCOPE_TLS_CLIENT_CA)',
    },
    'pg-port': {
      type: 'string',
      value: 'PORT',
      help: 'also serve the PostgreSQL protocol on PORT (same host as --listen; psql, BI tools, Grafana; docs/postgresql.md); off by default',
    },
    'insecure-plain': {
      type: 'boolean',
      help: 'accept PostgreSQL connections with a cleartext token from other machines without TLS',
    },
    'agent-timeout': {
      type: 'string',
      value: 'MS',
      help: 'an agent silent this long is unresponsive: its processes fail with AGENT_UNRESPONSIVE (default 5000)',
    },
    'metrics-public': {
      type: 'boolean',
      help: 'serve /metrics without a token, for a Prometheus on a trusted network (default: a user token; docs/metrics.md)',
    },
    'otlp-endpoint': {
      type: 'string',
      value: 'URL',
      help: 'export probe events (as logs) and kept request traces (as spans) to this OpenTelemetry collector over OTLP/HTTP JSON, e.g. http://collector:4318 (docs/otlp.md)',
    },
    store: {
      type: 'string',
      value: 'URL',
      help: 'scale out: share spec, snapshot index and investigations with other servers in this PostgreSQL (postgres://USER:PASSWORD@HOST:PORT/DB; env PERISCOPE_STORE); needs --objects (docs/storage.md)',
    },
    objects: {
      type: 'string',
      value: 'URL',
      help: 'with --store: where snapshot data goes, file:///DIR (a directory every server reaches) or s3://BUCKET/PREFIX (env PERISCOPE_OBJECTS)',
    },
    'cache-mb': {
      type: 'string',
      value: 'MB',
      help: 'with --store: bound of the local query cache in <data>/cache, MiB of the objects of the snapshots and probe data it holds; probe data keeps at most 3/4, the newest (default 2048; docs/storage.md)',
    },
    'compact-probes-after': {
      type: 'string',
      value: 'MINUTES',
      help: 'with --store: merge probe data flushed longer ago than this into bigger objects (default 5; docs/storage.md)',
    },
    'otlp-header': {
      type: 'string',
      multiple: true,
      value: 'NAME=VALUE',
      help: 'a header sent with each OTLP export request, e.g. an API key (repeatable)',
    },
  },
  details:
    'On the first start of a data directory the server creates an admin token and an agent token\n' +
    'and prints them once. More tokens: `periscope token create --role user|agent|admin --data DIR`.\n' +
    'Agents connect with `periscope agent --server URL --token AGENT_TOKEN`.\n\n' +
    "TLS: with --tls-cert and --tls-key the API and the agents' WebSocket are HTTPS only; the files\n" +
    'are re-read when they change (a renewed certificate needs no restart).\n\n' +
    'Examples:\n  periscope server\n  periscope server --listen 0.0.0.0:7070 --data /var/lib/periscope \\\n' +
    '    --tls-cert /etc/periscope/server.pem --tls-key /etc/periscope/server.key',
  parse(values) {
    const { host, port } = parseListen(textOption(values, 'listen') ?? '127.0.0.1:7070');
    const staticDir = textOption(values, 'static');
    const prepareTimeoutMs = ms(values, 'prepare-timeout');
    const prepareMaxMs = ms(values, 'prepare-max-wait');
    const captureTimeoutMs = ms(values, 'capture-timeout');
    const agentTimeoutMs = ms(values, 'agent-timeout');
    const certFile = textOption(values, 'tls-cert') ?? (process.env.PERISCOPE_TLS_CERT || undefined);
    const keyFile = textOption(values, 'tls-key') ?? (process.env.PERISCOPE_TLS_KEY || undefined);
    const clientCaFile =
      textOption(values, 'tls-client-ca') ?? (process.env.PERISCOPE_TLS_CLIENT_CA || undefined);
    if ((certFile === undefined) !== (keyFile === undefined))
      throw new PeriscopeError('bad-usage', 'give --tls-cert and --tls-key together');
    if (clientCaFile !== undefined && certFile === undefined)
      throw new PeriscopeError(
        'bad-usage',
        '--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS)',
      );
    const rules = listOption(values, 'retain').map(parseRetentionRule);
    const pgText = textOption(values, 'pg-port');
    const pgPort = pgText === undefined ? undefined : Number(pgText);
    if (pgPort !== undefined && (!/^\d+$/.test(pgText ?? '') || pgPort > 65535))
      throw new PeriscopeError('bad-usage', `--pg-port "${pgText}" is not a port number (e.g. 5433)`);
    const otlp = otlpOption(values);
    const shared = sharedOption(values);
    const rotateText = textOption(values, 'audit-rotate-mb');
    const auditRotateMb = rotateText === undefined ? undefined : Number(rotateText);
    if (auditRotateMb !== undefined && !(auditRotateMb > 0))
      throw new PeriscopeError(
        'bad-usage',
        `--audit-rotate-mb "${rotateText}" is not a positive number of MiB (e.g. 64)`,
      );
    return {
      ...(auditRotateMb !== undefined ? { auditRotateBytes: Math.round(auditRotateMb * 1024 * 1024) } : {}),
      ...(pgPort !== undefined
        ? { pg: { port: pgPort, insecurePlain: values['insecure-plain'] === true } }
        : {}),
      ...(flagOption(values, 'metrics-public') ? { metricsPublic: true } : {}),
      ...(otlp ? { otlp } : {}),
      ...(shared ? { shared } : {}),
      host,
      port,
      ...(rules.length ? { retention: { rules } } : {}),
      dataDir: localDataDir(values),
      ...(staticDir !== undefined ? { staticDir } : {}),
      ...(prepareTimeoutMs ? { prepareTimeoutMs } : {}),
      ...(prepareMaxMs ? { prepareMaxMs } : {}),
      ...(captureTimeoutMs ? { captureTimeoutMs } : {}),
      ...(agentTimeoutMs ? { agentTimeoutMs } : {}),
      ...(certFile !== undefined && keyFile !== undefined
        ? { tls: { certFile, keyFile, ...(clientCaFile !== undefined ? { clientCaFile } : {}) } }
        : {}),
    };
  },
  async run(options) {
    const { host, port, dataDir } = options;
    // Signal handlers go in before the server starts and stay while it closes: a signal that
    // arrives right after "listening" is printed, or a second one (a process group's Ctrl-C on
    // top of a supervisor's SIGTERM), must neither kill it half-way nor be lost.
    let stopSignal: string | undefined;
    let onStop: (() => void) | undefined;
    const stop = (sig: string): void => {
      if (stopSignal !== undefined) {
        console.log(`${sig}: already stopping`);
        return;
      }
      stopSignal = sig;
      onStop?.();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const running = await startServer(options).catch((e: unknown) => {
      const code = (e as { code?: string }).code;
      if (code === 'EADDRINUSE')
        throw new PeriscopeError(
          'bad-usage',
          `${host}:${port} is in use; choose another with --listen HOST:PORT`,
        );
      if (code === 'EACCES')
        throw new PeriscopeError(
          'permission',
          `not allowed to listen on ${host}:${port}; pick a port above 1024`,
        );
      throw e;
    });
    console.log(`Periscope server listening on ${running.url}`);
    if (running.pgPort !== undefined)
      console.log(
        `PostgreSQL protocol on ${host}:${running.pgPort} (databases latest, snapshot_N, all; password: a user token)`,
      );
    console.log(`data directory: ${dataDir}`);
    if (options.otlp) console.log(`exporting probe events to ${options.otlp.endpoint} (OTLP/HTTP logs)`);
    if (options.tls) {
      const tls = running.tls;
      console.log(`TLS: ${tls?.subject ?? '?'}, valid until ${tls?.validTo ?? '?'}`);
      if (options.tls.clientCaFile) console.log('agents must present a client certificate (mutual TLS)');
    } else if (!isLoopbackHost(host))
      console.log(
        `warning: plain HTTP on ${host}: tokens and data cross the network in clear; serve HTTPS with --tls-cert and --tls-key (docs/security.md)`,
      );
    if (running.firstTokens) {
      console.log('');
      console.log('First start: these tokens are shown only now; keep them somewhere safe.');
      console.log(`  admin token: ${running.firstTokens.admin}`);
      console.log(`  agent token: ${running.firstTokens.agent}`);
      console.log('');
      console.log(`  agents:  periscope agent --server ${running.url} --token AGENT_TOKEN`);
      console.log(`  users:   PERISCOPE_TOKEN=ADMIN_TOKEN periscope agents --server ${running.url}`);
    }
    const gaveUp = await new Promise<string[]>((resolve) => {
      onStop = () => {
        console.log('stopping');
        running.close().then(resolve, () => resolve([]));
      };
      if (stopSignal !== undefined) onStop();
    });
    if (gaveUp.length === 0) return EXIT.ok;
    // The server logged what it gave up on; a write still hanging on a connection must not keep
    // the process from exiting past its bounded wait.
    setTimeout(() => process.exit(EXIT.error), 1000).unref();
    return EXIT.error;
  },
});
