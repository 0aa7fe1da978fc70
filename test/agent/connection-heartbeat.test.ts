/**
 * The agent's heartbeats against a real WebSocket server that pings it as Periscope's server
 * does: while the server's pings arrive the agent sends none of its own; when they stop (a
 * server that answers but does not ping) its own resume; and a server that stops answering
 * altogether is still taken for dead within the same bound (serverTimeoutMs, counted in ticks).
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type WebSocket, WebSocketServer } from 'ws';
import { Connection } from '../../src/agent/connection.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';

const PING_MS = 100;
const SERVER_TIMEOUT_MS = 1000;

test('no agent ping while the server pings; pings again when it stops; a server that stops answering is still detected', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/agent' });
  await new Promise<void>((resolve) => wss.on('listening', () => resolve()));
  let sock: WebSocket | undefined;
  let agentPings = 0;
  wss.on('connection', (ws) => {
    sock = ws;
    ws.on('ping', () => agentPings++);
    ws.on('message', (data) => {
      if ((JSON.parse(data.toString()) as { type: string }).type === 'hello')
        ws.send(JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, specVersion: 0, spec: '' }));
    });
  });
  const logs: string[] = [];
  let welcomes = 0;
  const conn = new Connection({
    server: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    token: 't',
    hello: { agentId: 'hb', hostname: 'hb-host', version: 'test' },
    pingMs: PING_MS,
    serverTimeoutMs: SERVER_TIMEOUT_MS,
    minBackoffMs: 50,
    log: (line) => logs.push(line),
    onWelcome: () => welcomes++,
    onMessage: () => undefined,
    onDisconnect: () => undefined,
  });
  // The server pings at twice the agent's rate, as Periscope's (1 s) does against the agent's 2 s.
  const serverPinger = setInterval(() => sock?.ping(), PING_MS / 2);
  try {
    conn.start();
    while (welcomes === 0) await sleep(10);
    await sleep(PING_MS * 3);
    agentPings = 0;
    await sleep(PING_MS * 15);
    assert.equal(agentPings, 0, 'the agent sent no ping while the server pinged');

    // A server that answers but does not ping: the agent's own pings keep the connection checked.
    clearInterval(serverPinger);
    await sleep(PING_MS * 3);
    agentPings = 0;
    await sleep(PING_MS * 10);
    assert.ok(agentPings >= 5, `the agent pings again (${agentPings} pings)`);
    assert.equal(welcomes, 1, 'on the same connection');
    assert.deepEqual(
      logs.filter((l) => /no heartbeat/.test(l)),
      [],
    );

    // A server that stops answering (reads nothing any more): taken for dead, within the bound.
    const stoppedAt = performance.now();
    (sock as unknown as { _socket: { pause(): void } })._socket.pause();
    while (!logs.some((l) => /no heartbeat from \S+ for \d+\.\d s; reconnecting/.test(l))) {
      assert.ok(performance.now() - stoppedAt < SERVER_TIMEOUT_MS * 5, `not detected: ${logs.join(' | ')}`);
      await sleep(20);
    }
  } finally {
    clearInterval(serverPinger);
    conn.close();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
});
