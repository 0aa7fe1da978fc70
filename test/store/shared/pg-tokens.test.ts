/**
 * The tokens of the scaled-out store in a real PostgreSQL, as two servers see them (two pools):
 * exactly one of two servers starting together creates the first tokens; what one creates,
 * rotates or limits, the other lists with the same facts after its refresh; errors name the id.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PeriscopeError } from '../../../src/common/errors.js';
import { connectPg } from '../../../src/store/shared/pg-schema.js';
import { PgTokens } from '../../../src/store/shared/pg-tokens.js';
import { startTestPostgres, type TestPostgres } from './shared-support.js';

let pg: TestPostgres | undefined;
const opened: PgTokens[] = [];

before(async () => {
  pg = await startTestPostgres();
});

after(() => {
  for (const t of opened) t.close();
  pg?.stop();
});

async function open(): Promise<PgTokens> {
  const t = await PgTokens.open(await connectPg(pg!.url), 'test', (e) => assert.fail(e), { ownsPool: true });
  opened.push(t);
  return t;
}

test('two servers on one PostgreSQL: one creates the first tokens; changes on either are the other’s', async () => {
  const [a, b] = [await open(), await open()];
  const firsts = await Promise.all([a.createFirst(), b.createFirst()]);
  assert.equal(firsts.filter((f) => f !== undefined).length, 1, 'exactly one server made the first tokens');
  const first = firsts.find((f) => f !== undefined)!;
  await Promise.all([a.refresh(true), b.refresh(true)]);
  assert.equal(a.verify(first.admin)?.role, 'admin');
  assert.equal(b.verify(first.agent)?.role, 'agent');
  assert.equal(await a.createFirst(), undefined, 'no second set once tokens exist');

  const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
  const made = await a.create('user', 'ci', { expiresAt, programs: ['program=orders'] });
  await b.refresh(false);
  assert.deepEqual(b.verify(made.token), made.info, 'the same facts on the other server');
  assert.deepEqual(b.list(), a.list());

  const rotated = await b.rotate(made.info.id, { graceMs: 60_000 });
  await a.refresh(false);
  assert.equal(a.verify(made.token)?.id, made.info.id, 'the old token works during the grace');
  assert.equal(a.verify(rotated.token)?.programs?.[0], 'program=orders', 'the new one keeps the programs');
  const limited = await a.setPrograms(rotated.info.id, undefined);
  assert.equal(limited.programs, undefined);
  await b.revoke(rotated.info.id);
  await a.refresh(false);
  assert.equal(a.verify(rotated.token), undefined);
  assert.match(a.refusal(rotated.token) ?? '', /was revoked at \d{4}-/);
  await assert.rejects(
    () => a.revoke('000000000000'),
    (e: unknown) => e instanceof PeriscopeError && /no token with id "000000000000"/.test(e.message),
  );
  await assert.rejects(() => a.rotate(rotated.info.id), /is revoked; rotate an active token/);
});
