/**
 * Child process of bench/scale-fleet.ts: many simulated agents in one Node process, each a
 * real agent `Connection` (src/agent/connection.ts: the same WebSocket, token header, hello
 * with id, instance and capabilities, heartbeats and reconnection as `periscope agent`) that
 * reports its own `processes` (fake pids, labelled like discovery labels real ones) and
 * answers `prepare` with `prepared` and `capture` with one `captured` per process, built by
 * the agent's own `capturedText` around a recorded real snapshot (wire form, deflated above
 * the agent's 256 KiB threshold) whose pid, executable and takenAt are rewritten, so every
 * process is distinct. No process is paused: what is simulated is the fleet, not the capture.
 *
 * Forked by the parent, which sends its ReplayConfig as the first IPC message (not in argv: the
 * token would show in `ps`); answers `{ ready: n }` once all its agents are welcomed, and
 * `{ served, welcomed }` when sent `{ cmd: 'stats' }`; `{ cmd: 'stop' }` closes every connection.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { Connection } from '../src/agent/connection.js';
import { capturedText } from '../src/agent/results.js';
import { AGENT_CAPABILITIES, type ProcessDescription, type ServerMessage } from '../src/protocol/messages.js';

/** What the parent gives a worker. */
export interface ReplayConfig {
  /** Server URL of each of this worker's agents, in order. */
  readonly servers: readonly string[];
  /** The index of this worker's first agent in the fleet. */
  readonly first: number;
  readonly procsPerAgent: number;
  readonly token: string;
  /** A JSON file: an array of recorded snapshots in wire form (JSON text each). */
  readonly material: string;
  /** Shards for the `env.SHARD` label (agent index modulo this). */
  readonly shards: number;
}

/** Snapshots whose JSON is longer than this are sent deflated (the agent's default, executor.ts). */
const DEFLATE_OVER = 256 << 10;
/** Program names the simulated processes run (their executables' base names). */
const PROGRAMS = ['checkout', 'payments', 'orders', 'inventory', 'search', 'auth', 'gateway', 'ledger'];
/** A boot time for the fake processes' start times (keys are hostname:pid:starttime). */
const START_TICKS = 4242;

/** A recorded snapshot split around the fields rewritten per process. */
interface Material {
  /** The wire JSON after `{"pid":…,"executable":…,"takenAt":…,` (starts with a field). */
  readonly rest: string;
}

function loadMaterial(file: string): Material[] {
  const texts = JSON.parse(readFileSync(file, 'utf8')) as string[];
  return texts.map((t) => {
    const { pid: _p, executable: _e, takenAt: _t, ...rest } = JSON.parse(t) as Record<string, unknown>;
    return { rest: JSON.stringify(rest).slice(1) };
  });
}

/** One simulated process of an agent. */
interface FakeProcess {
  readonly description: ProcessDescription;
  readonly material: Material;
}

/** One simulated agent. */
class ReplayAgent {
  readonly connection: Connection;
  readonly procs = new Map<string, FakeProcess>();
  welcomed = false;
  served = 0;

  constructor(
    readonly index: number,
    server: string,
    cfg: ReplayConfig,
    material: readonly Material[],
    onWelcome: () => void,
  ) {
    const hostname = `sim-${String(index).padStart(4, '0')}`;
    for (let j = 0; j < cfg.procsPerAgent; j++) {
      const n = index * cfg.procsPerAgent + j;
      const pid = 10_000 + n;
      const program = PROGRAMS[n % PROGRAMS.length]!;
      const executable = `/usr/local/bin/${program}`;
      const key = `${hostname}:${pid}:${START_TICKS + j}`;
      const description: ProcessDescription = {
        key,
        hostname,
        pid,
        executable,
        cmdline: [executable, '--port', String(8000 + j)],
        labels: {
          executable,
          exe_name: program,
          cmdline: `${executable} --port ${8000 + j}`,
          hostname,
          node: hostname,
          pid: String(pid),
          'env.SHARD': String(index % cfg.shards),
        },
        programs: [],
      };
      this.procs.set(key, { description, material: material[n % material.length]! });
    }
    this.connection = new Connection({
      server,
      token: cfg.token,
      hello: {
        agentId: `sim-agent-${index}`,
        hostname,
        version: 'replay',
        instance: randomBytes(8).toString('hex'),
        capabilities: AGENT_CAPABILITIES,
      },
      log: (line) => {
        if (!/^spec version/.test(line)) console.log(`${hostname}: ${line}`);
      },
      onWelcome: () => {
        this.connection.send(
          JSON.stringify({
            type: 'processes',
            processes: [...this.procs.values()].map((p) => p.description),
          }),
        );
        if (!this.welcomed) {
          this.welcomed = true;
          onWelcome();
        }
      },
      onMessage: (m) => this.message(m),
      onDisconnect: () => undefined,
    });
  }

  private message(m: ServerMessage): void {
    if (m.type === 'prepare') {
      const results = m.keys.map((key) =>
        this.procs.has(key)
          ? { key }
          : { key, error: { kind: 'PROCESS_MISSING', message: `no process ${key} on this agent` } },
      );
      this.connection.send(JSON.stringify({ type: 'prepared', requestId: m.requestId, results }));
    } else if (m.type === 'capture') {
      this.served++;
      for (const key of m.keys) {
        const p = this.procs.get(key);
        const t0 = Date.now();
        if (!p) continue;
        const d = p.description;
        const json = `{"pid":${d.pid},"executable":${JSON.stringify(d.executable)},"takenAt":"${new Date(t0).toISOString()}",${p.material.rest}`;
        const deflated = json.length > DEFLATE_OVER;
        const bytes = deflated ? deflateSync(json, { level: 1 }) : Buffer.from(json, 'utf8');
        const head = { requestId: m.requestId, key, startedAt: t0, elapsedMs: Date.now() - t0 };
        this.connection.send(capturedText(head, bytes, deflated));
      }
    }
  }
}

function run(cfg: ReplayConfig): void {
  const material = loadMaterial(cfg.material);
  let ready = 0;
  const agents: ReplayAgent[] = [];
  cfg.servers.forEach((server, i) => {
    // Staggered a little, as a fleet's agents start: not 250 handshakes in one tick.
    setTimeout(() => {
      const a = new ReplayAgent(cfg.first + i, server, cfg, material, () => {
        if (++ready === cfg.servers.length) process.send?.({ ready });
      });
      agents.push(a);
      a.connection.start();
    }, i * 5);
  });
  process.on('message', (m: { cmd?: string }) => {
    if (m.cmd === 'stats')
      process.send?.({ served: agents.reduce((n, a) => n + a.served, 0), welcomed: ready });
    if (m.cmd === 'stop') {
      for (const a of agents) a.connection.close();
      setTimeout(() => process.exit(0), 1500).unref();
    }
  });
}

process.once('message', (cfg: ReplayConfig) => run(cfg));
process.on('disconnect', () => process.exit(0));
