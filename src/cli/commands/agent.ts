/** `periscope agent --server URL --token TOKEN [--env-allow A,B] [--interval S] [--hostname NAME] [--id ID] [--match L=RE] [--cache-dir DIR]`. */
import { readFileSync } from 'node:fs';
import { Agent } from '../../agent/agent.js';
import { agentUrls } from '../../agent/connection.js';
import { DEFAULT_ENV_ALLOW } from '../../agent/labels.js';
import { PeriscopeError } from '../../common/errors.js';
import { checkPin, clientTlsFromEnv, clientTlsOptions, requireTlsOffHost } from '../../common/tls-client.js';
import { agentBinaryCacheDir } from '../binary-cache-dir.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import {
  choiceOption,
  flagOption,
  listOption,
  parseListen,
  pauseCapOption,
  positiveIntOption,
  textOption,
} from '../options.js';

function usageError(message: string): PeriscopeError {
  return new PeriscopeError('bad-usage', message);
}

/** Parses `--match label=regex` values into agent-local label rules. */
export function parseMatch(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw usageError(`--match wants LABEL=REGEX, got "${v}"`);
    const [label, re] = [v.slice(0, eq), v.slice(eq + 1)];
    try {
      new RegExp(re);
    } catch (e) {
      throw usageError(`--match ${label}: ${(e as Error).message}`);
    }
    out[label] = re;
  }
  return out;
}

export const agentCommand = defineCommand({
  name: 'agent',
  summary: summaryOf('agent'),
  args: '--server URL --token TOKEN',
  options: {
    server: {
      type: 'string',
      value: 'URL',
      help: 'the server, e.g. https://periscope:7070 (env PERISCOPE_SERVER); connects to URL/v1/agent. Servers sharing a store: several URLs separated by commas, tried in order on reconnect',
    },
    token: {
      type: 'string',
      value: 'TOKEN',
      help: 'an agent token made on the server (env PERISCOPE_TOKEN)',
    },
    'env-allow': {
      type: 'string',
      value: 'A,B',
      help: `environment variables reported as env.NAME labels (default ${DEFAULT_ENV_ALLOW.join(',')})`,
    },
    interval: { type: 'string', value: 'S', help: 'seconds between full scans of /proc (default 2)' },
    hostname: {
      type: 'string',
      value: 'NAME',
      help: "this machine's name in process keys (default: the OS hostname)",
    },
    id: {
      type: 'string',
      value: 'ID',
      help: "this agent's id on the server, unique in the fleet (default: HOSTNAME-HASH of the machine's identity)",
    },
    match: {
      type: 'string',
      multiple: true,
      value: 'LABEL=RE',
      help: 'report only processes whose label matches (repeatable; all must match)',
    },
    probes: {
      type: 'string',
      value: 'HOW',
      help: 'how probes run: auto (eBPF, else tracefs uprobe_events), bpf, tracefs, off (default auto)',
    },
    'cache-dir': {
      type: 'string',
      value: 'DIR',
      help: 'where the agent keeps what it learned of each binary, so its first snapshot after a restart starts from it; off: nowhere (default $PERISCOPE_CACHE_DIR, else $CACHE_DIRECTORY from systemd, else /var/cache/periscope as root; docs/agent.md)',
    },
    'runtime-dir': {
      type: 'string',
      value: 'DIR',
      help: 'where the agent notes that it has probes on, to notice its own crash (default /run/periscope)',
    },
    'probe-crash-wait': {
      type: 'string',
      value: 'S',
      help: 'seconds to wait before placing probes after a crash with probes on, doubled per crash in a row (default 60)',
    },
    'probe-max-event-bytes': {
      type: 'string',
      value: 'N',
      help: 'the largest event a probe may write, bytes; a probe with larger events is refused (default 8192)',
    },
    'probe-max-events': {
      type: 'string',
      value: 'N',
      help: 'events a second one process may send over all its probes; the rest are dropped and counted (default 5000)',
    },
    'pause-cap-ms': {
      type: 'string',
      value: 'MS',
      help: 'the longest a snapshot may keep a process stopped; past it the process is resumed and the snapshot marked partial (default 100)',
    },
    'token-file': {
      type: 'string',
      value: 'FILE',
      help: 'read the token from FILE, again at each reconnection: a rotated token needs no restart (env PERISCOPE_TOKEN_FILE)',
    },
    ca: {
      type: 'string',
      value: 'FILE',
      help: "PEM CA that signed the server's certificate, instead of the system roots (env PERISCOPE_CA)",
    },
    pin: {
      type: 'string',
      multiple: true,
      value: 'sha256/B64',
      help: 'accept only a server whose public key has this pin (repeatable; env PERISCOPE_PIN, comma-separated)',
    },
    'client-cert': {
      type: 'string',
      value: 'FILE',
      help: 'PEM client certificate, for a server that requires one (mutual TLS; env PERISCOPE_CLIENT_CERT)',
    },
    'client-key': {
      type: 'string',
      value: 'FILE',
      help: "the client certificate's key (env PERISCOPE_CLIENT_KEY)",
    },
    'metrics-listen': {
      type: 'string',
      value: 'HOST:PORT',
      help: 'serve Prometheus metrics at http://HOST:PORT/metrics, no token: keep it on loopback or a scrape network (off by default; docs/metrics.md)',
    },
    'insecure-plain': {
      type: 'boolean',
      help: 'allow plain ws:// or http:// to another machine (the token travels in clear; env PERISCOPE_INSECURE_PLAIN=1)',
    },
  },
  details:
    'Runs as root, or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (see docs/agent.md). Connects out to the\n' +
    'server and reconnects with backoff; logs one line per event. Stops on SIGINT or SIGTERM.\n\n' +
    'Labels: executable, exe_name, cmdline, hostname, node, pid, env.NAME, container, container_runtime,\n' +
    'pod_uid, pod, namespace, go_version, build_id, stripped.\n\n' +
    'Examples:\n' +
    '  periscope agent --server https://periscope.internal:7070 --token "$(cat /etc/periscope/token)"\n' +
    '  PERISCOPE_SERVER=ws://127.0.0.1:7070 PERISCOPE_TOKEN=... periscope agent --env-allow GOMAXPROCS,APP_ENV\n' +
    '  periscope agent --server https://periscope.internal:7070 --ca /etc/periscope/ca.pem \\\n' +
    '    --client-cert /etc/periscope/agent.pem --client-key /etc/periscope/agent.key\n\n' +
    'TLS: an https:// server is verified against the system roots, or the CA of --ca; --pin also\n' +
    'requires its public key. Plain ws:// or http:// is refused to any machine but this one, unless\n' +
    '--insecure-plain (see docs/security.md).',
  parse(values) {
    const server = textOption(values, 'server') ?? process.env.PERISCOPE_SERVER;
    const tokenFile = textOption(values, 'token-file') ?? (process.env.PERISCOPE_TOKEN_FILE || undefined);
    let token = textOption(values, 'token') ?? process.env.PERISCOPE_TOKEN;
    if (tokenFile !== undefined) {
      try {
        token = readFileSync(tokenFile, 'utf8').trim();
      } catch (e) {
        throw usageError(`cannot read --token-file ${tokenFile}: ${(e as Error).message}`);
      }
      if (!token) throw usageError(`--token-file ${tokenFile} is empty; write the agent token in it`);
    }
    if (!server) throw usageError('give the server with --server URL (or PERISCOPE_SERVER)');
    if (!token)
      throw usageError('give the agent token with --token TOKEN, --token-file FILE (or PERISCOPE_TOKEN)');
    let urls: URL[];
    try {
      urls = agentUrls(server).map((u) => new URL(u));
    } catch {
      throw usageError(
        `--server "${server}" is not an http(s):// or ws(s):// URL (or several separated by commas)`,
      );
    }
    const caFile = textOption(values, 'ca');
    const certFile = textOption(values, 'client-cert');
    const keyFile = textOption(values, 'client-key');
    const tls = clientTlsFromEnv({
      ...(caFile !== undefined ? { caFile } : {}),
      pins: listOption(values, 'pin').map(checkPin),
      ...(certFile !== undefined ? { certFile } : {}),
      ...(keyFile !== undefined ? { keyFile } : {}),
      insecurePlain: flagOption(values, 'insecure-plain'),
    });
    for (const url of urls) requireTlsOffHost(url, tls.insecurePlain, '--server');
    // The files are read now, so a wrong path stops the start instead of every connection.
    clientTlsOptions(tls);
    const intervalText = textOption(values, 'interval');
    const interval = intervalText === undefined ? 2 : Number(intervalText);
    if (!Number.isFinite(interval) || interval < 0.1 || interval > 3600)
      throw usageError('--interval wants seconds between 0.1 and 3600');
    const envText = textOption(values, 'env-allow');
    const envAllow =
      envText === undefined ? DEFAULT_ENV_ALLOW : envText.split(',').filter((s) => s.trim() !== '');
    const localMatch = parseMatch(listOption(values, 'match'));
    const probes = choiceOption(values, 'probes', ['auto', 'bpf', 'tracefs', 'off'] as const, 'auto');
    const crashWait = textOption(values, 'probe-crash-wait');
    const wait = crashWait === undefined ? 60 : Number(crashWait);
    if (!Number.isFinite(wait) || wait < 0 || wait > 86_400)
      throw usageError('--probe-crash-wait wants seconds from 0 to 86400');
    const maxEvents = positiveIntOption(values, 'probe-max-events', 'events a second');
    const maxEventBytes = positiveIntOption(values, 'probe-max-event-bytes', 'bytes');
    if (maxEventBytes !== undefined && (maxEventBytes < 64 || maxEventBytes > 65_536))
      throw usageError('--probe-max-event-bytes wants bytes from 64 to 65536');
    const runtimeDir = textOption(values, 'runtime-dir');
    const pauseCapMs = pauseCapOption(values);
    const id = textOption(values, 'id');
    if (id !== undefined && (id.length === 0 || id.length > 200))
      throw usageError('--id wants a name of 1 to 200 characters');
    const metricsText = textOption(values, 'metrics-listen');
    const cacheFlag = textOption(values, 'cache-dir');
    if (cacheFlag === '') throw usageError('--cache-dir wants a directory, or off');
    const binaryCacheDir = agentBinaryCacheDir(cacheFlag);
    return {
      ...(binaryCacheDir !== undefined ? { binaryCacheDir } : {}),
      ...(metricsText !== undefined ? { metricsListen: parseListen(metricsText, '--metrics-listen') } : {}),
      server,
      token,
      ...(tokenFile !== undefined ? { tokenFile } : {}),
      tls,
      hostname: textOption(values, 'hostname'),
      ...(id !== undefined ? { agentId: id } : {}),
      envAllow: envAllow.map((s) => s.trim()),
      intervalMs: interval * 1000,
      ...(pauseCapMs !== undefined ? { executor: { pauseCapMs } } : {}),
      ...(Object.keys(localMatch).length > 0 ? { localMatch } : {}),
      probes: {
        backend: probes,
        crashBackoffMs: wait * 1000,
        ...(runtimeDir !== undefined ? { runtimeDir } : {}),
        limits: {
          ...(maxEvents !== undefined ? { maxEventsPerProcess: maxEvents } : {}),
          ...(maxEventBytes !== undefined ? { maxEventBytes } : {}),
        },
      },
    };
  },
  async run(options) {
    const agent = new Agent(options);
    if (options.metricsListen) {
      const { host, port } = options.metricsListen;
      await agent.serveMetrics(host, port).catch((e: unknown) => {
        const code = (e as { code?: string }).code;
        throw new PeriscopeError(
          code === 'EACCES' ? 'permission' : 'bad-usage',
          code === 'EADDRINUSE'
            ? `--metrics-listen ${host}:${port} is in use; choose another port`
            : `cannot serve metrics on ${host}:${port}: ${(e as Error).message}`,
        );
      });
    }
    agent.start();
    await new Promise<void>((resolve) => {
      // Installed until the process exits: a second signal while stopping is noted, not fatal.
      let stopping = false;
      const stop = (sig: string): void => {
        console.log(
          `${new Date().toISOString()} ${sig}: ${stopping ? 'already stopping' : 'agent stopping'}`,
        );
        if (stopping) return;
        stopping = true;
        void agent.stop().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
});
