/**
 * Discovery leaves nothing behind: stop() ends its thread and closes the connector socket
 * and the wake-up eventfd (on events and when polling); the real `periscope agent` ends on
 * SIGTERM by itself (nothing holds its event loop or its exit). What is left is read from
 * /proc: the threads' names, the descriptors, /proc/net/netlink.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { test } from 'node:test';
import { Discovery } from '../../src/agent/discovery.js';
import { DISCOVERY_THREAD_NAME } from '../../src/agent/discovery-thread.js';
import { CLI, Proc } from '../../support/fleet.js';

const NETLINK_CONNECTOR = 11;

/** Descriptors of `pid` that link to something matching `keep`. */
function fdLinks(pid: number, keep: (link: string) => boolean): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (keep(readlinkSync(`/proc/${pid}/fd/${fd}`))) n++;
    } catch {
      // Closed meanwhile.
    }
  }
  return n;
}

/** NETLINK_CONNECTOR sockets open in `pid` (inodes from /proc/net/netlink, column Eth = protocol). */
function connectorSockets(pid: number): number {
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/netlink', 'latin1').trim().split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (Number(f[1]) === NETLINK_CONNECTOR) inodes.add(f[f.length - 1]!);
  }
  return fdLinks(pid, (l) => inodes.has(/^socket:\[(\d+)\]$/.exec(l)?.[1] ?? ''));
}

const eventFds = (pid: number): number => fdLinks(pid, (l) => l === 'anon_inode:[eventfd]');

/** Threads of `pid` named like the discovery thread. */
function discoveryThreads(pid: number): number {
  let n = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'latin1').trim() === DISCOVERY_THREAD_NAME) n++;
    } catch {
      // Ended meanwhile.
    }
  }
  return n;
}

async function until(what: () => string | undefined, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  for (;;) {
    const wrong = what();
    if (wrong === undefined) return;
    if (performance.now() > end) throw new Error(`not within ${ms} ms: ${wrong}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What is open in this process now: the discovery threads, connector sockets and eventfds. */
function open(): { threads: number; sockets: number; eventfds: number } {
  return {
    threads: discoveryThreads(process.pid),
    sockets: connectorSockets(process.pid),
    eventfds: eventFds(process.pid),
  };
}

for (const events of [true, false]) {
  test(`stop() ends the discovery thread and closes what it opened (${events ? 'events' : 'polling'})`, async () => {
    const base = { threads: 0, sockets: connectorSockets(process.pid), eventfds: eventFds(process.pid) };
    assert.equal(discoveryThreads(process.pid), 0);
    // Full passes ten minutes apart: between them the thread sleeps in poll() (events), or
    // for 250 ms at a time (polling), and only the wake-up eventfd can end it sooner.
    const d = new Discovery({ node: 'exit', envAllow: [], procEvents: events, rescanMs: 600_000 });
    d.start();
    try {
      await until(() => (d.stats().mode === 'starting' ? 'still starting' : undefined));
      assert.equal(d.stats().mode, events ? 'events' : 'polling');
      assert.equal(d.stats().thread, 'own');
      const now = open();
      assert.equal(now.threads, 1);
      assert.equal(now.sockets, base.sockets + (events ? 1 : 0));
      // The wake-up eventfd, and the thread's own event loop's (Node's, closed at its end).
      assert.ok(now.eventfds > base.eventfds);
    } finally {
      d.stop();
    }
    await until(() => {
      const now = open();
      const left = now.threads > 0 || now.sockets > base.sockets || now.eventfds > base.eventfds;
      return left ? `${JSON.stringify(now)} left, from ${JSON.stringify(base)}` : undefined;
    });
    assert.equal(d.stats().mode, 'stopped');
  });
}

test('the agent ends by itself on SIGTERM, its discovery thread and socket with it', async () => {
  // No server listens on port 1: the agent keeps trying to connect, discovery runs.
  const child = spawn(
    process.execPath,
    [CLI, 'agent', '--server', 'ws://127.0.0.1:1', '--hostname', 'exit-test', '--id', `exit-${process.pid}`],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PERISCOPE_TOKEN: 'unused' } },
  );
  const agent = new Proc('agent', child);
  try {
    await agent.waitFor(/discovery: kernel process events \(proc connector\)/, 30_000);
    assert.equal(discoveryThreads(agent.pid), 1);
    assert.equal(connectorSockets(agent.pid), 1);
    agent.signal('SIGTERM');
    // Generous: a process held up would wait for the next full pass (60 s) or forever.
    const timer = setTimeout(() => agent.signal('SIGKILL'), 20_000);
    const status = await agent.exitStatus();
    clearTimeout(timer);
    assert.equal(status, 0, `exit status ${status}: ${agent.tail()}`);
    assert.ok(agent.matching(/SIGTERM: agent stopping/).length === 1, agent.tail());
  } finally {
    agent.signal('SIGKILL');
  }
});
