/**
 * The audit log's rotation: past its size the current file is renamed and the chain goes on in
 * a new one (its first entry holds the hash of the previous file's last line, also when another
 * writer appends next); listing, export and the check span every file; an edit in a rotated
 * file is found there; rotated files deleted by retention are accepted only when an entry names
 * the hash they ended with.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AUDIT_FILE, rotatedAuditFiles } from '../../src/store/audit-files.js';
import { AuditLog } from '../../src/store/audit-log.js';
import type { AuditRecord } from '../../src/store/audit-types.js';
import { freshDataDir } from './store-support.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function record(n: number): AuditRecord {
  return {
    action: 'query',
    actor: { name: 'alice' },
    source: '127.0.0.1',
    outcome: 'ok',
    details: { sql: `select ${n}` },
  };
}

function linesOf(dir: string, file: string): string[] {
  return readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

test('the audit log rotates by size and its chain runs through every file', () => {
  const dir = freshDataDir();
  const log = new AuditLog(dir, { rotateBytes: 1000 });
  for (let i = 1; i <= 20; i++) log.append(record(i));
  // Another writer (the CLI's `token create --data`) continues the same chain.
  new AuditLog(dir, { rotateBytes: 1000 }).append(record(21));
  log.append(record(22));
  const rotated = rotatedAuditFiles(dir);
  assert.ok(rotated.length >= 3, readdirSync(dir).join(' '));
  const files = [...rotated, AUDIT_FILE];
  for (const f of files) assert.ok(readFileSync(join(dir, f)).length <= 1000, f);
  for (let i = 1; i < files.length; i++) {
    const prevLast = linesOf(dir, files[i - 1] ?? '').at(-1) ?? '';
    const first = JSON.parse(linesOf(dir, files[i] ?? '')[0] ?? '{}') as { prev: string };
    assert.equal(first.prev, sha256(prevLast), `${files[i]} chains to ${files[i - 1]}`);
  }
  const { entries, total } = log.list();
  assert.equal(total, 22);
  assert.deepEqual(
    entries.map((e) => e.seq),
    Array.from({ length: 22 }, (_, i) => i + 1),
  );
  assert.deepEqual(
    log.list({ limit: 2 }).entries.map((e) => e.seq),
    [21, 22],
  );
  assert.equal(
    log
      .raw()
      .split('\n')
      .filter((l) => l !== '').length,
    22,
  );
  assert.deepEqual(log.verify(), { ok: true, entries: 22 });

  // An edit in a rotated file breaks the chain at the next line, in that file.
  const victim = rotated[1] ?? '';
  const text = linesOf(dir, victim);
  text[0] = (text[0] ?? '').replace('"alice"', '"mallory"');
  writeFileSync(join(dir, victim), `${text.join('\n')}\n`);
  const broken = log.verify();
  assert.equal(broken.ok, false);
  assert.equal(broken.file, victim);
  assert.equal(broken.brokenAtLine, 2);
});

test('rotated files deleted by retention keep the rest verifiable, and only then', () => {
  const dir = freshDataDir();
  const log = new AuditLog(dir, { rotateBytes: 1000 });
  for (let i = 1; i <= 20; i++) log.append(record(i));
  const old = log.rotatedBefore(new Date(Date.now() + 60_000)).slice(0, 2);
  assert.equal(old.length, 2);
  // Removed by someone else, with no entry naming them: the first line kept is a break.
  const copy = freshDataDir();
  for (const f of readdirSync(dir)) writeFileSync(join(copy, f), readFileSync(join(dir, f)));
  for (const f of old) rmSync(join(copy, f.file));
  assert.deepEqual(new AuditLog(copy).verify().ok, false);
  // Removed by a retention pass, which names them first.
  log.append({
    action: 'retention.delete',
    actor: { name: 'server' },
    source: 'local',
    outcome: 'ok',
    details: { auditFilesDeleted: old },
  });
  log.drop(old);
  const integrity = log.verify();
  assert.equal(integrity.ok, true, JSON.stringify(integrity));
  assert.equal(integrity.startsAfter, old.at(-1)?.lastHash);
  assert.equal(log.list().entries[0]?.prev, old.at(-1)?.lastHash);
});
