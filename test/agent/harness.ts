/** Test support: an in-process agent whose log lines are recorded, limited to one test's processes. */
import { randomUUID } from 'node:crypto';
import { Agent, type AgentOptions } from '../../src/agent/agent.js';
import { TEST_PAUSE_CAP_MS } from '../../support/pause-cap.js';

/** An agent under test. */
export interface TestAgent {
  readonly agent: Agent;
  readonly logs: { t: number; line: string }[];
  /** The env value that marks this test's fixtures (start them with `env`). */
  readonly env: Record<string, string>;
  /** Resolves with the first log line matching `re` (logged at or after `since`); rejects after `ms`. */
  waitLog(re: RegExp, ms?: number, since?: number): Promise<string>;
  stop(): void;
}

/**
 * Starts an agent for `serverUrl` that reports only processes started with `env` (other
 * tests' fixtures run on the same machine at the same time).
 */
export function startAgent(serverUrl: string, token: string, opts: Partial<AgentOptions> = {}): TestAgent {
  const id = randomUUID();
  const logs: { t: number; line: string }[] = [];
  const agent = new Agent({
    server: serverUrl,
    token,
    hostname: 'test-node',
    envAllow: ['PERISCOPE_TEST_ID'],
    localMatch: { 'env.PERISCOPE_TEST_ID': `^${id}$` },
    intervalMs: 500,
    minBackoffMs: 100,
    maxBackoffMs: 1000,
    log: (line) => logs.push({ t: performance.now(), line }),
    ...opts,
    // Not a test of the pause cap unless it sets its own (support/pause-cap.ts).
    executor: { pauseCapMs: TEST_PAUSE_CAP_MS, ...opts.executor },
  });
  agent.start();
  return {
    agent,
    logs,
    env: { PERISCOPE_TEST_ID: id },
    waitLog(re, ms = 10_000, since = 0) {
      return new Promise((resolve, reject) => {
        const t0 = performance.now();
        const poll = setInterval(() => {
          const hit = logs.find((l) => l.t >= since && re.test(l.line));
          if (hit) {
            clearInterval(poll);
            resolve(hit.line);
          } else if (performance.now() - t0 > ms) {
            clearInterval(poll);
            reject(
              new Error(
                `no log line ${re} within ${ms} ms: ${JSON.stringify(logs.slice(-8).map((l) => l.line))}`,
              ),
            );
          }
        }, 20);
      });
    },
    stop: () => agent.stop(),
  };
}
