import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { PeriscopeError } from '../../src/common/errors.js';
import { listThreads } from '../../src/proc/threads.js';
import { S3Objects } from '../../src/store/s3-objects.js';
import { type S3Server, startS3Server } from '../../support/s3-server.js';

// One real SeaweedFS for the file (its start is seconds); each test works under its own prefix.
let server: S3Server;
before(async () => {
  server = await startS3Server({ log: (line) => console.log(line) });
});
after(async () => {
  await server?.stop();
});

function store(prefix: string, options: Parameters<typeof S3Objects.fromUrl>[1] = {}): S3Objects {
  return S3Objects.fromUrl(server.url(prefix), { env: server.env, ...options });
}

test('put/get round-trips binary bytes, an empty object and a several-MiB object; a missing key is undefined', async () => {
  const s = store('roundtrip');
  const all = new Uint8Array(256).map((_, i) => i);
  const big = new Uint8Array(randomBytes(5 * 1024 * 1024 + 7));
  await s.put('bytes.bin', all);
  await s.put('empty', new Uint8Array(0));
  await s.put('big.parquet', big);
  assert.deepEqual(await s.get('bytes.bin'), all);
  assert.deepEqual(await s.get('empty'), new Uint8Array(0));
  const got = await s.get('big.parquet');
  assert.equal(got?.byteLength, big.byteLength);
  assert.ok(Buffer.from(got!).equals(Buffer.from(big)), 'the several-MiB object differs');
  assert.equal(await s.get('no-such-key'), undefined);
  await s.put('bytes.bin', new Uint8Array([9])); // replaced whole
  assert.deepEqual(await s.get('bytes.bin'), new Uint8Array([9]));
  assert.deepEqual(await s.list(''), [
    { key: 'big.parquet', size: big.byteLength },
    { key: 'bytes.bin', size: 1 },
    { key: 'empty', size: 0 },
  ]);
});

test('keys with characters that need encoding are stored, read, listed and deleted as they are', async () => {
  const s = store('odd keys/ü');
  const keys = [
    'snapshot_id=3/process_id=7/part 0.parquet',
    "sym/a+b&c=d?e#f%25g;h,i:j@k$l!m*n'o(p)q~r",
    'unicode/é/日本/😀.bin',
    'dots.../..x/.y',
    'control/a\u0001b\u001fc', // XML 1.0 cannot carry these: listed url-encoded, deleted one by one
  ];
  for (const [i, k] of keys.entries()) await s.put(k, new Uint8Array([i]));
  for (const [i, k] of keys.entries()) assert.deepEqual(await s.get(k), new Uint8Array([i]), k);
  const listed = (await s.list('')).map((o) => o.key);
  assert.deepEqual(
    listed,
    [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );
  await s.delete(keys);
  assert.deepEqual(await s.list(''), []);
  // Keys are relative paths of non-empty parts in every backend; no request is sent for others.
  for (const bad of ['', '/abs', 'a//b', 'a/./b', 'a/..', 'trailing/'])
    await assert.rejects(
      s.put(bad, new Uint8Array([1])),
      (e: unknown) =>
        e instanceof PeriscopeError && e.kind === 'bad-usage' && /is not an object key/.test(e.message),
    );
});

test('list follows continuation tokens over many pages, filters by prefix, and keeps key order', async () => {
  const s = store('paging/', { listPageSize: 3 });
  const keys = Array.from({ length: 17 }, (_, i) => `snapshot_id=${i % 3}/p${String(i).padStart(2, '0')}`);
  for (const k of [...keys].reverse()) await s.put(k, new Uint8Array(keys.indexOf(k) + 1));
  const all = await s.list('');
  assert.deepEqual(
    all.map((o) => o.key),
    [...keys].sort(),
  );
  assert.deepEqual(
    all.map((o) => o.size),
    [...keys].sort().map((k) => keys.indexOf(k) + 1),
  );
  const one = await s.list('snapshot_id=1/');
  assert.deepEqual(
    one.map((o) => o.key),
    keys.filter((k) => k.startsWith('snapshot_id=1/')).sort(),
  );
  assert.deepEqual(await s.list('snapshot_id=9'), []);
  // A store under another prefix of the same bucket sees none of these; one over the parent sees them with its prefix.
  assert.deepEqual(await store('paging-other').list(''), []);
  const parent = await store('', { listPageSize: 5 }).list('paging/snapshot_id=2/');
  assert.deepEqual(
    parent.map((o) => o.key),
    keys
      .filter((k) => k.startsWith('snapshot_id=2/'))
      .sort()
      .map((k) => `paging/${k}`),
  );
});

test('delete removes the keys given, leaves the others, and takes missing keys and an empty list', async () => {
  const s = store('delete');
  for (const k of ['a', 'b', 'c/d', 'c/e']) await s.put(k, new Uint8Array([1]));
  await s.delete(['a', 'c/d', 'never-was', 'c/nothing']);
  assert.deepEqual(
    (await s.list('')).map((o) => o.key),
    ['b', 'c/e'],
  );
  await s.delete([]);
  await s.delete(['a']); // already gone
  assert.equal(await s.get('a'), undefined);
  assert.deepEqual(await s.get('b'), new Uint8Array([1]));
});

test('virtual-hosted addressing (BUCKET.DOMAIN/KEY) works like path-style', async () => {
  const port = new URL(server.endpoint).port;
  const url = new URL(`s3://${server.bucket}/vhost?endpoint=http://${server.domain}:${port}&path_style=0`);
  const hosts: string[] = [];
  const s = S3Objects.fromUrl(url, {
    env: server.env,
    // The domain is in no DNS: resolve it here, and see which host names were asked for.
    lookup: (host, opts, cb) => {
      hosts.push(host);
      if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
    },
  });
  assert.match(s.describe(), /virtual-hosted/);
  await s.put('a b/c', new Uint8Array([7, 8]));
  assert.deepEqual(await s.get('a b/c'), new Uint8Array([7, 8]));
  assert.deepEqual(await s.list(''), [{ key: 'a b/c', size: 2 }]);
  // The same object through path-style addressing: one bucket, two ways to name it.
  assert.deepEqual(await store('vhost').get('a b/c'), new Uint8Array([7, 8]));
  await s.delete(['a b/c']);
  assert.equal(await s.get('a b/c'), undefined);
  assert.ok(hosts.length > 0 && hosts.every((h) => h === `${server.bucket}.${server.domain}`), hosts.join());
});

test('a wrong secret is a permission error naming the bucket and endpoint and what to check; no secret in it', async () => {
  const secret = 'not-the-right-secret';
  const s = S3Objects.fromUrl(server.url('x'), { env: { ...server.env, AWS_SECRET_ACCESS_KEY: secret } });
  for (const op of [() => s.put('k', new Uint8Array([1])), () => s.get('k'), () => s.list('')])
    await assert.rejects(op(), (e: unknown) => {
      assert.ok(e instanceof PeriscopeError, String(e));
      assert.equal(e.kind, 'permission');
      assert.match(e.message, new RegExp(`bucket "${server.bucket}" at ${server.endpoint}`));
      assert.match(e.message, /AWS_SECRET_ACCESS_KEY/);
      assert.match(e.message, /clock/);
      assert.doesNotMatch(e.message, new RegExp(`${secret}|${server.env.AWS_SECRET_ACCESS_KEY}`));
      return true;
    });
  assert.doesNotMatch(s.describe(), /secret/i);
});

test('a bucket that does not exist is a not-found error saying to create it', async () => {
  const url = server.url('x');
  url.hostname = 'no-such-bucket-here';
  const s = S3Objects.fromUrl(url, { env: server.env });
  await assert.rejects(
    s.put('k', new Uint8Array([1])),
    (e: unknown) =>
      e instanceof PeriscopeError &&
      e.kind === 'not-found' &&
      /no bucket "no-such-bucket-here" at http:\/\/127\.0\.0\.1:\d+ \(HTTP 404 NoSuchBucket/.test(
        e.message,
      ) &&
      /create the bucket/.test(e.message),
  );
  await assert.rejects(s.list(''), (e: unknown) => e instanceof PeriscopeError && e.kind === 'not-found');
});

test('a server that stops answering for a while: attempts time out and are retried until it answers again', async () => {
  const port = new URL(server.endpoint).port;
  let connections = 0;
  const s = S3Objects.fromUrl(new URL(`s3://${server.bucket}/frozen?endpoint=http://localhost:${port}`), {
    env: server.env,
    // Enough attempts to outlast a loaded machine's slow thaw (~15 s), not only the 1.5 s freeze.
    attempts: 30,
    timeoutMs: 400,
    backoffMs: 50,
    maxBackoffMs: 100,
    // Called once per new connection (a timed-out attempt's connection is closed).
    lookup: (_host, opts, cb) => {
      connections++;
      if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
    },
  });
  await s.put('k', new Uint8Array([5]));
  const before = connections;
  process.kill(server.pid, 'SIGSTOP');
  // A stop signal wakes one thread, which then stops the others: until that thread gets a CPU
  // (on a busy machine, milliseconds) the rest run on and can answer (seen: 3 of 40 gets
  // answered in 2 ms with 3 spinners). The request goes once every thread is stopped.
  const frozenBy = Date.now() + 10_000;
  while (!listThreads(server.pid).every((t) => t.state === 'T')) {
    if (Date.now() > frozenBy) {
      process.kill(server.pid, 'SIGCONT');
      assert.fail(`SeaweedFS not stopped within 10 s: ${listThreads(server.pid).map((t) => t.state)}`);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  let thawed = false;
  const thaw = setTimeout(() => {
    thawed = true;
    process.kill(server.pid, 'SIGCONT');
  }, 1500);
  try {
    assert.deepEqual(await s.get('k'), new Uint8Array([5]));
    assert.ok(thawed, 'answered while the server was stopped');
    assert.ok(
      connections - before >= 2,
      `${connections - before} connection(s): the first attempt was not retried`,
    );
  } finally {
    clearTimeout(thaw);
    process.kill(server.pid, 'SIGCONT');
  }
});

// Last: it stops the server.
test('with the server stopped, requests are retried with backoff and then fail with a clear error', async () => {
  const s = store('down', { attempts: 4, backoffMs: 100, maxBackoffMs: 400 });
  await s.put('k', new Uint8Array([1]));
  await server.stop();
  const t0 = Date.now();
  await assert.rejects(s.get('k'), (e: unknown) => {
    assert.ok(e instanceof PeriscopeError, String(e));
    assert.equal(e.kind, 'timeout');
    assert.match(e.message, /the object store s3:\/\/periscope\/down\/ \(endpoint http:\/\/127\.0\.0\.1:\d+/);
    assert.match(
      e.message,
      /get of "k" \(ECONNREFUSED.*after 4 attempts over \d+\.\d s\): check that the endpoint/,
    );
    return true;
  });
  // Three waits of at least half of 100, 200 and 400 ms (the jitter keeps the upper half).
  assert.ok(Date.now() - t0 >= 350, `gave up after ${Date.now() - t0} ms, before its backoff`);
});
