/**
 * The server's audit log across rotated files: with a small rotation size, `GET /v1/audit`
 * and the export span every file and the chain holds; a retention pass with a `*` rule deletes
 * a rotated file older than the longest rule, names it and its last hash in its entry, and the
 * log still checks out from the oldest file kept.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AuditResponse } from '../../src/api/responses.js';
import { rotatedAuditFiles, rotatedAuditName } from '../../src/store/audit-files.js';
import { parseRetentionRule } from '../../src/store/retention.js';
import { api, eventually, tempDataDir, testServer } from './server-support.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

test('GET /v1/audit and the export span the rotated files, and the chain holds through them', async () => {
  const dataDir = tempDataDir();
  const server = await testServer(dataDir, { auditRotateBytes: 1500 });
  try {
    const admin = server.firstTokens?.admin ?? '';
    for (let i = 0; i < 12; i++)
      assert.equal((await api(server.url, admin, 'GET', '/v1/audit?limit=1')).status, 200);
    assert.ok(rotatedAuditFiles(dataDir).length >= 2, 'the log was rotated');
    const r = await api<AuditResponse>(server.url, admin, 'GET', '/v1/audit');
    assert.deepEqual(r.body.integrity, { ok: true, entries: r.body.total });
    assert.deepEqual(
      r.body.entries.map((e) => e.seq),
      Array.from({ length: r.body.total }, (_, i) => i + 1),
    );
    const exported = await fetch(`${server.url}/v1/audit/export`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    const lines = (await exported.text()).split('\n').filter((l) => l !== '');
    assert.equal(lines.length, r.body.total + 1, 'every file, and the export itself recorded');
  } finally {
    await server.close();
  }
});

test('a retention pass deletes rotated audit files older than the longest rule, and the rest still checks out', async () => {
  const dataDir = tempDataDir();
  // A rotated file from long ago, its entries chained as the log writes them.
  const first = JSON.stringify({
    seq: 1,
    at: '2020-01-01T00:00:00.000Z',
    action: 'query',
    actor: { name: 'old' },
    source: 'local',
    outcome: 'ok',
    details: {},
    prev: '',
  });
  const second = JSON.stringify({
    seq: 2,
    at: '2020-01-01T00:00:01.000Z',
    action: 'query',
    actor: { name: 'old' },
    source: 'local',
    outcome: 'ok',
    details: {},
    prev: sha256(first),
  });
  const old = rotatedAuditName(2);
  writeFileSync(join(dataDir, old), `${first}\n${second}\n`, { mode: 0o600 });
  const server = await testServer(dataDir, {
    retention: { rules: ['orders=2d', '*=30d'].map(parseRetentionRule) },
    log: () => undefined,
  });
  try {
    const admin = server.firstTokens?.admin ?? '';
    let entry: AuditResponse['entries'][number] | undefined;
    await eventually(
      async () => {
        const r = await api<AuditResponse>(server.url, admin, 'GET', '/v1/audit?action=retention.delete');
        entry = r.body.entries[0];
        return entry !== undefined;
      },
      30_000,
      'the retention pass',
    );
    assert.deepEqual(entry?.details.auditFilesDeleted, [{ file: old, lastHash: sha256(second) }]);
    assert.equal(existsSync(join(dataDir, old)), false);
    const r = await api<AuditResponse>(server.url, admin, 'GET', '/v1/audit');
    assert.equal(r.body.integrity.ok, true, JSON.stringify(r.body.integrity));
    assert.equal(r.body.integrity.startsAfter, sha256(second));
    assert.equal(r.body.entries[0]?.seq, 3, 'the log went on from the rotated file');
  } finally {
    await server.close();
  }
});
