/**
 * TLS in the server: agents and the CLI over HTTPS with a test CA made by openssl, clear
 * refusals (untrusted certificate, plain HTTP to HTTPS and back, a pinned key that changed, an
 * agent without a client certificate under mutual TLS), and a renewed certificate served
 * without a restart.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { Agent, type AgentOptions } from '../../src/agent/agent.js';
import type { RunningServer } from '../../src/server/server.js';
import { ROOT } from '../../support/go-fixtures.js';
import { type CertFiles, TestPki } from '../../support/test-pki.js';
import { api, eventually, tempDataDir, testServer } from './server-support.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin', 'periscope.js');

async function cli(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      timeout: 30_000,
      env: {
        ...process.env,
        PERISCOPE_TOKEN: '',
        PERISCOPE_SERVER: '',
        PERISCOPE_CA: '',
        PERISCOPE_PIN: '',
        ...env,
      },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout: string; stderr: string };
    return { code: err.code ?? -1, stdout: err.stdout, stderr: err.stderr };
  }
}

/** An in-process agent that reports no process, with its log lines. */
function startAgent(url: string, token: string, opts: Partial<AgentOptions>) {
  const logs: string[] = [];
  const agent = new Agent({
    server: url,
    token,
    hostname: 'tls-node',
    agentId: `tls-${Math.random().toString(36).slice(2)}`,
    envAllow: [],
    localMatch: { exe_name: '^no-such-program-here$' },
    minBackoffMs: 100,
    maxBackoffMs: 1000,
    log: (line) => logs.push(line),
    ...opts,
  });
  agent.start();
  return {
    agent,
    logs,
    async waitLog(re: RegExp, ms = 10_000): Promise<string> {
      const end = Date.now() + ms;
      for (;;) {
        const hit = logs.find((l) => re.test(l));
        if (hit) return hit;
        if (Date.now() > end) throw new Error(`no log line ${re}: ${JSON.stringify(logs.slice(-5))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop: () => agent.stop(),
  };
}

/** The pin of the certificate a TLS server presents now (a fresh connection). */
function servedPin(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: readFileSync(ca), servername: 'localhost' }, () => {
      const cert = s.getPeerX509Certificate();
      s.end();
      if (!cert) reject(new Error('no certificate'));
      else import('../../src/common/tls-client.js').then(({ spkiPin }) => resolve(spkiPin(cert)), reject);
    });
    s.on('error', reject);
  });
}

const pki = new TestPki();
let ca: CertFiles;
let otherCa: CertFiles;
let first: CertFiles;
let renewed: CertFiles;
let agentCert: CertFiles;
let rogueCert: CertFiles;
let live: { cert: string; key: string };
let server: RunningServer;
let mtls: RunningServer;
let plain: RunningServer;
let admin: string;
let agentToken: string;
let mtlsAgentToken: string;
const serverLog: string[] = [];

before(async () => {
  ca = pki.ca('test-ca');
  otherCa = pki.ca('other-ca');
  first = pki.leaf(ca, 'server-1', 'server');
  renewed = pki.leaf(ca, 'server-2', 'server');
  agentCert = pki.leaf(ca, 'agent-1', 'client');
  rogueCert = pki.leaf(otherCa, 'rogue-agent', 'client');
  live = { cert: join(pki.dir, 'live.pem'), key: join(pki.dir, 'live.key') };
  copyFileSync(first.cert, live.cert);
  copyFileSync(first.key, live.key);
  server = await testServer(tempDataDir(), {
    tls: { certFile: live.cert, keyFile: live.key, reloadIntervalMs: 100 },
    log: (line) => serverLog.push(line),
  });
  admin = server.firstTokens?.admin ?? '';
  agentToken = server.firstTokens?.agent ?? '';
  mtls = await testServer(tempDataDir(), {
    tls: { certFile: first.cert, keyFile: first.key, clientCaFile: ca.cert },
    agentLog: (line) => serverLog.push(line),
  });
  mtlsAgentToken = mtls.firstTokens?.agent ?? '';
  plain = await testServer();
});

after(async () => {
  await server.close();
  await mtls.close();
  await plain.close();
});

test('the CLI talks HTTPS to the server with the test CA (flag or PERISCOPE_CA)', async () => {
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const byFlag = await cli({ PERISCOPE_TOKEN: admin }, 'agents', '--server', server.url, '--ca', ca.cert);
  assert.equal(byFlag.code, 0, byFlag.stderr);
  assert.match(byFlag.stdout, /no agents|AGENT/i);
  const byEnv = await cli(
    { PERISCOPE_TOKEN: admin, PERISCOPE_SERVER: server.url, PERISCOPE_CA: ca.cert },
    'token',
    'list',
  );
  assert.equal(byEnv.code, 0, byEnv.stderr);
  assert.match(byEnv.stdout, /first-admin/);
});

test('a certificate the CLI does not trust is refused with what to do', async () => {
  const noCa = await cli({ PERISCOPE_TOKEN: admin }, 'agents', '--server', server.url);
  assert.equal(noCa.code, 1);
  assert.match(
    noCa.stderr,
    /TLS to https:\/\/127\.0\.0\.1:\d+ failed \(\w+\): its certificate is signed by a CA this client does not trust.*--ca FILE/,
  );
  const wrongCa = await cli(
    { PERISCOPE_TOKEN: admin },
    'agents',
    '--server',
    server.url,
    '--ca',
    otherCa.cert,
  );
  assert.equal(wrongCa.code, 1);
  assert.match(wrongCa.stderr, /signed by a CA this client does not trust .*give that CA with --ca FILE/);
  assert.doesNotMatch(`${noCa.stderr}${wrongCa.stderr}`, /\n\s+at /, 'no stack trace');
});

test('plain HTTP to the HTTPS server gets a JSON 400 saying to use https://; https:// to a plain server fails clearly', async () => {
  const port = new URL(server.url).port;
  const r = await api<{ error: { code: string; message: string } }>(
    `http://127.0.0.1:${port}`,
    admin,
    'GET',
    '/v1/agents',
  );
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'tls-required');
  assert.match(r.body.error.message, new RegExp(`speaks HTTPS only: use https://127\\.0\\.0\\.1:${port}`));
  const viaCli = await cli({ PERISCOPE_TOKEN: admin }, 'agents', '--server', `http://127.0.0.1:${port}`);
  assert.equal(viaCli.code, 2);
  assert.match(viaCli.stderr, /speaks HTTPS only: use https:\/\//);
  const tlsToPlain = await cli(
    { PERISCOPE_TOKEN: admin },
    'agents',
    '--server',
    plain.url.replace('http:', 'https:'),
    '--ca',
    ca.cert,
  );
  assert.equal(tlsToPlain.code, 1);
  assert.match(tlsToPlain.stderr, /does not speak TLS there; use http:\/\//);
});

test('a token is not sent in clear to another machine unless allowed', async () => {
  const cliRefused = await cli({ PERISCOPE_TOKEN: admin }, 'agents', '--server', 'http://192.0.2.1:7070');
  assert.equal(cliRefused.code, 2);
  assert.match(
    cliRefused.stderr,
    /plain http:\/\/ to another machine: the token would travel in clear.*--insecure-plain/,
  );
  const agentRefused = await cli({}, 'agent', '--server', 'ws://192.0.2.1:7070', '--token', 'x');
  assert.equal(agentRefused.code, 2);
  assert.match(agentRefused.stderr, /plain ws:\/\/ to another machine/);
  // Loopback stays allowed (the demo), and so does another machine when told so.
  const loopback = await cli({ PERISCOPE_TOKEN: admin }, 'agents', '--server', plain.url);
  assert.equal(loopback.code, 1, 'plain.url has another token; the point is that it was sent');
  assert.match(loopback.stderr, /refused the token \(401\)/);
  const allowed = await cli(
    { PERISCOPE_TOKEN: admin, PERISCOPE_INSECURE_PLAIN: '1' },
    'agents',
    '--server',
    'http://192.0.2.1:1',
  );
  assert.doesNotMatch(allowed.stderr, /in clear/);
  const allowedByFlag = await cli(
    { PERISCOPE_TOKEN: admin },
    'agents',
    '--insecure-plain',
    '--server',
    'http://192.0.2.1:1',
  );
  assert.doesNotMatch(allowedByFlag.stderr, /in clear/);
  assert.match(allowedByFlag.stderr, /192\.0\.2\.1/, 'it tried to connect');
});

test('an agent connects over TLS with the test CA; with another CA it says why it cannot', async () => {
  const good = startAgent(server.url, agentToken, { tls: { caFile: ca.cert } });
  const bad = startAgent(server.url, agentToken, { tls: { caFile: otherCa.cert }, maxBackoffMs: 60_000 });
  try {
    await good.waitLog(/connected to wss:\/\/127\.0\.0\.1:\d+\/v1\/agent/);
    await eventually(async () => {
      const r = await cli(
        { PERISCOPE_TOKEN: admin },
        'agents',
        '--server',
        server.url,
        '--ca',
        ca.cert,
        '--json',
      );
      return r.stdout.includes(good.agent.id);
    }, 10_000);
    const line = await bad.waitLog(/TLS to server wss:.* failed/);
    assert.match(line, /signed by a CA this client does not trust .*give that CA with --ca FILE/);
    assert.equal(bad.agent.connected, false);
  } finally {
    good.stop();
    bad.stop();
  }
});

test('a renewed certificate is served without a restart; a pin of the old key then refuses the server', async () => {
  const port = Number(new URL(server.url).port);
  assert.equal(await servedPin(port, ca.cert), first.pin);
  const pinnedOld = await cli(
    { PERISCOPE_TOKEN: admin, PERISCOPE_PIN: first.pin },
    'agents',
    '--server',
    server.url,
    '--ca',
    ca.cert,
  );
  assert.equal(pinnedOld.code, 0, pinnedOld.stderr);
  // Renewal as certbot does it: the key first, then the certificate (a moment of mismatch).
  copyFileSync(renewed.key, live.key);
  await eventually(
    () => serverLog.some((l) => /TLS files changed but do not load/.test(l)),
    3000,
    'mismatch logged',
  );
  assert.equal(
    await servedPin(port, ca.cert),
    first.pin,
    'the old pair is served while the new one is half written',
  );
  copyFileSync(renewed.cert, live.cert);
  await eventually(async () => (await servedPin(port, ca.cert)) === renewed.pin, 3000, 'the new certificate');
  assert.ok(serverLog.some((l) => /TLS certificate reloaded: CN=server-2/.test(l)));
  const stillOk = await cli({ PERISCOPE_TOKEN: admin }, 'agents', '--server', server.url, '--ca', ca.cert);
  assert.equal(stillOk.code, 0, stillOk.stderr);
  const pinRefused = await cli(
    { PERISCOPE_TOKEN: admin, PERISCOPE_PIN: first.pin },
    'agents',
    '--server',
    server.url,
    '--ca',
    ca.cert,
  );
  assert.equal(pinRefused.code, 1);
  assert.match(
    pinRefused.stderr,
    /failed the pin check: the server's certificate \(SHA-256 [0-9A-F:]{95}, public key sha256\/\S+\) is not the pinned one/,
  );
  // A pin of the whole certificate's SHA-256, as openssl prints it (lower case without colons works too).
  const fingerprint = (f: string) => new X509Certificate(readFileSync(f)).fingerprint256;
  const byCertPin = await cli(
    { PERISCOPE_TOKEN: admin },
    'agents',
    '--server',
    server.url,
    '--ca',
    ca.cert,
    '--pin',
    fingerprint(renewed.cert).replace(/:/g, '').toLowerCase(),
  );
  assert.equal(byCertPin.code, 0, byCertPin.stderr);
  const byOldCertPin = await cli(
    { PERISCOPE_TOKEN: admin },
    'agents',
    '--server',
    server.url,
    '--ca',
    ca.cert,
    '--pin',
    fingerprint(first.cert),
  );
  assert.equal(byOldCertPin.code, 1);
  assert.match(byOldCertPin.stderr, /failed the pin check/);
  const badPin = await cli({ PERISCOPE_TOKEN: admin }, 'agents', '--server', server.url, '--pin', 'abc');
  assert.equal(badPin.code, 2);
  assert.match(badPin.stderr, /pin "abc" is neither a certificate's SHA-256/);
  const agent = startAgent(server.url, agentToken, { tls: { caFile: ca.cert, pins: [first.pin] } });
  try {
    await agent.waitLog(/failed the pin check/);
  } finally {
    agent.stop();
  }
  const pinnedNew = startAgent(server.url, agentToken, { tls: { caFile: ca.cert, pins: [renewed.pin] } });
  try {
    await pinnedNew.waitLog(/connected to wss:/);
  } finally {
    pinnedNew.stop();
  }
});

test('mutual TLS: an agent without a client certificate, or with one of another CA, is refused; with one it connects', async () => {
  const without = startAgent(mtls.url, mtlsAgentToken, { tls: { caFile: ca.cert }, maxBackoffMs: 60_000 });
  const rogue = startAgent(mtls.url, mtlsAgentToken, {
    tls: { caFile: ca.cert, certFile: rogueCert.cert, keyFile: rogueCert.key },
    maxBackoffMs: 60_000,
  });
  const good = startAgent(mtls.url, mtlsAgentToken, {
    tls: { caFile: ca.cert, certFile: agentCert.cert, keyFile: agentCert.key },
  });
  try {
    const line = await without.waitLog(/refused the WebSocket upgrade/);
    assert.match(
      line,
      /HTTP 403: this server requires agents to present a client certificate .* it presented no certificate; give the agent --client-cert/,
    );
    const rogueLine = await rogue.waitLog(/refused the WebSocket upgrade/);
    assert.match(rogueLine, /its certificate was not accepted/);
    await good.waitLog(/connected to wss:/);
    // The API does not ask for one: the CLI works without a client certificate.
    const r = await cli(
      { PERISCOPE_TOKEN: mtls.firstTokens?.admin ?? '' },
      'agents',
      '--server',
      mtls.url,
      '--ca',
      ca.cert,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      serverLog.some((l) => /refused an agent from .*: mutual TLS, it presented no certificate/.test(l)),
    );
  } finally {
    without.stop();
    rogue.stop();
    good.stop();
  }
});
