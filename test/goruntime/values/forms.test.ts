/**
 * Pretty forms against what the fixture itself printed (Go's Format/String/Error), full map
 * walks and lookups against the fixture's construction (both map layouts, a classic map
 * mid-growth), the cut markers under small limits, and decoding over garbage memory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Address, addr, hex, NO_BIAS } from '../../../src/common/address.js';
import { PeriscopeError } from '../../../src/common/errors.js';
import { GoBinary } from '../../../src/gobinary/go-binary.js';
import { ptrAt, readPtr } from '../../../src/goruntime/values/bytes.js';
import { makeValueContext, type ValueContext, withLimits } from '../../../src/goruntime/values/context.js';
import { decodeValue, decodeValueAt, type GoValue } from '../../../src/goruntime/values/decode.js';
import { mapTypes } from '../../../src/goruntime/values/map-shape.js';
import { mapEntries, mapLookup } from '../../../src/goruntime/values/maps.js';
import { fieldOf } from '../../../src/goruntime/values/walk.js';
import { type Memory, ProcMemFile } from '../../../src/proc/memory.js';
import { buildFixture, GO_TOOLCHAINS, toolchainUnavailable } from '../../../support/go-fixtures.js';
import { startTarget } from '../../../support/target.js';
import { evaluateGlobal, globalPlace, globalValue } from './read-global.js';

type Obj = { [k: string]: GoValue };
const get = globalValue;
const mapOf = (ctx: ValueContext, name: string) => {
  const g = globalPlace(ctx, name);
  return { type: g.type, ptr: readPtr(ctx.memory, g.address) };
};
const intAt = (ctx: ValueContext, a: Address): number =>
  Number(ctx.memory.read(a, 8).reduceRight((x, b) => x * 256 + b, 0));
const int64At = (ctx: ValueContext, a: Address): number => {
  const b = ctx.memory.read(a, 8);
  const v = new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true);
  return Number(v);
};

for (const tc of GO_TOOLCHAINS) {
  test(`pretty forms, maps and limits (${tc})`, { timeout: 600_000 }, async (t) => {
    const why = await toolchainUnavailable(tc);
    if (why) return t.skip(why);
    const fx = await buildFixture('values', { toolchain: tc });
    const proc = await startTarget(fx.path);
    const mem = new ProcMemFile(proc.pid);
    try {
      const bin = await GoBinary.open(fx.path);
      const ctx = makeValueContext(bin, mem, NO_BIAS, { maxDepth: 8 });
      // The JSON line the program printed about its own values (Go's String()/Format/Error output).
      const printed = proc.lines.find((l) => l.text.startsWith('{'));
      assert.ok(printed, 'the fixture printed its expectations');
      const exp = JSON.parse(printed.text) as Record<string, unknown>;

      await t.test('pretty forms match the program', () => {
        for (const n of ['vTimeUTC', 'vTimeZero', 'vTimeFixed', 'vDuration', 'vDurationNeg', 'vDurationTiny'])
          assert.equal(get(ctx, n), exp[n], n);
        assert.equal(get(ctx, 'vDurationBig'), exp.vDurationBig);
        const now = String(get(ctx, 'vTime'));
        const mono = / m=[+-][\d.]+$/.exec(String(exp.vTimeString))?.[0];
        assert.equal(now, `${exp.vTime}${mono}`);
        assert.equal(get(ctx, 'vIPv4'), exp.vIPv4);
        assert.equal(get(ctx, 'vIPv6'), exp.vIPv6);
        assert.equal(get(ctx, 'vIPNil'), null);
        assert.equal((get(ctx, 'vErrNew') as Obj).message, exp.vErrNew);
        assert.equal((get(ctx, 'vErrWrapped') as Obj).message, exp.vErrWrapped);
        assert.equal((get(ctx, 'vErrWrapped') as Obj).type, '*fmt.wrapError');
        // The joined errors include a custom type whose Error() is code: no message then.
        assert.equal((get(ctx, 'vErrJoined') as Obj).message, undefined);
        assert.deepEqual(get(ctx, 'vErrCustom'), {
          type: '*main.MyErr',
          value: {
            address: ((get(ctx, 'vErrCustom') as Obj).value as Obj).address!,
            value: { Code: 404, Msg: 'not found' },
          },
        });
        assert.equal(get(ctx, 'vErrNil'), null);
        assert.equal((get(ctx, 'vMutex') as Obj).locked, exp.vMutexLocked);
        assert.deepEqual(get(ctx, 'vMutexFree'), {
          locked: false,
          woken: false,
          starving: false,
          waiters: 0,
        });
        assert.deepEqual(get(ctx, 'vRWMutex'), {
          readers: 2,
          writer: 'none',
          readerWait: 0,
          w: { locked: false, woken: false, starving: false, waiters: 0 },
        });
        const c = get(ctx, 'vCtx') as Obj;
        const chain = c.chain as Obj[];
        assert.deepEqual(
          chain.map((l) => l.type),
          ['*context.valueCtx', '*context.timerCtx', '*context.valueCtx', 'context.backgroundCtx'],
        );
        assert.deepEqual(chain[0]!.key, { type: 'main.ctxKey', value: 'request' });
        assert.deepEqual(chain[0]!.value, { type: 'int', value: exp.vCtxRequest });
        assert.equal(chain[1]!.deadline, exp.vCtxDeadline);
        assert.equal(chain[1]!.cancelled, false);
        assert.deepEqual(chain[2]!.value, { type: 'string', value: exp.vCtxUser });
        assert.deepEqual(get(ctx, 'vCtxBackground'), {
          type: 'context.backgroundCtx',
          chain: [{ type: 'context.backgroundCtx' }],
        });
      });

      await t.test('times across the whole range print as Go formats them', () => {
        const want = exp.vTimes as string[];
        assert.ok(want.length > 150, 'the fixture printed its times');
        const all = globalValue(withLimits(ctx, { maxElements: 1000 }), 'vTimes') as GoValue[];
        assert.equal(all.length, want.length);
        const wrong = all.flatMap((v, i) => (v === want[i] ? [] : [`[${i}] ${String(v)} vs Go ${want[i]}`]));
        assert.deepEqual(wrong, []);
      });

      await t.test('dynamic types without DWARF are built from their runtime type descriptors', () => {
        const kinds = get(ctx, 'vIfaceKinds') as Obj[];
        const of = (type: string) => kinds.find((k) => k.type === type)?.value as GoValue;
        const point = { X: 1, Y: 2 };
        const ps = of('[]*main.Point') as Obj[];
        assert.equal(ps.length, 1);
        assert.deepEqual(ps[0]!.value, point);
        assert.deepEqual(of('[]main.Point'), [{ X: 5, Y: 6 }]);
        assert.deepEqual(of('[1]bool'), [true]);
        assert.deepEqual((of('[2]*main.Point') as Obj[])[0]!.value, point);
        assert.equal((of('[2]*main.Point') as GoValue[])[1], null);
        assert.deepEqual(((of('**main.Point') as Obj).value as Obj).value, point);
        const ch = of('chan *main.Point') as Obj;
        assert.deepEqual([ch.len, ch.cap, ch.elemType, ch.closed], [0, 3, '*main.Point', false]);
        const pp = get(ctx, 'vIfaceAny') as Obj;
        assert.equal(pp.type, '**interface {}');
        assert.deepEqual(((pp.value as Obj).value as Obj).value, { type: 'int', value: 7 });
        // The real case: go1.22 leaves some of these types out of DWARF.
        const undescribed = kinds.map((k) => String(k.type)).filter((n) => !ctx.dwarf.findType(n));
        if (tc === 'go1.22.12') assert.deepEqual(undescribed, ['[]*main.Point', '[]main.Point', '[1]bool']);
        t.diagnostic(`${fx.goVersion}: dynamic types without DWARF: ${undescribed.join(', ') || 'none'}`);
      });

      await t.test('map layout per release', () => {
        const swiss = !/^go1\.2[23]\./.test(fx.goVersion);
        assert.equal(ctx.layout.maps.kind, swiss ? 'swiss' : 'classic');
        if (swiss) {
          const dirLen = (name: string) => {
            const m = mapOf(ctx, name);
            const f = fieldOf(ctx, mapTypes(ctx, m.type).header, 'dirLen')!;
            return intAt(ctx, addr(m.ptr + f.offset));
          };
          assert.equal(dirLen('vMapStrInt'), 0, 'small maps are one group');
          assert.ok(dirLen('vMapLarge') > 1, 'large maps have a directory');
        } else {
          const m = mapOf(ctx, 'vMapGrowing');
          const f = fieldOf(ctx, mapTypes(ctx, m.type).header, 'oldbuckets')!;
          assert.notEqual(readPtr(mem, addr(m.ptr + f.offset)), 0, 'vMapGrowing is mid-growth');
        }
      });

      await t.test('full map walks', () => {
        const walk = (name: string) => {
          const m = mapOf(ctx, name);
          const l = mapEntries(ctx, m.type, m.ptr, Number.POSITIVE_INFINITY);
          assert.equal(l.entries.length, l.len, `${name}: every entry is found`);
          return l.entries.map((e) => [
            decodeValue(ctx, l.keyType, e.keyBytes ?? mem.read(e.key, 8)),
            decodeValueAt(ctx, l.valueType, e.value),
          ]);
        };
        const sorted = (pairs: GoValue[][]) => pairs.sort((a, b) => Number(a[0]) - Number(b[0]));
        const large = sorted(walk('vMapLarge'));
        assert.deepEqual(
          large,
          Array.from({ length: 5000 }, (_, i) => [i, i * 10]),
        );
        const growing = sorted(walk('vMapGrowing'));
        assert.equal(growing.length, exp.vMapGrowingLen);
        assert.deepEqual(
          growing,
          Array.from({ length: 105 }, (_, i) => [i, i === 0 ? 0 : -i]),
        );
        const deleted = sorted(walk('vMapDeleted'));
        assert.deepEqual(
          deleted.map((p) => p[0]),
          Array.from({ length: 100 }, (_, i) => i).filter((i) => i % 3 !== 0),
        );
        const strs = walk('vMapLargeStr');
        assert.equal(new Set(strs.map((p) => p[0])).size, 2000);
        for (const [k, v] of strs) assert.equal(k, `key${String(v).padStart(5, '0')}`);
      });

      await t.test('map lookups', () => {
        const look = (name: string, key: string | number | bigint | boolean) => {
          const m = mapOf(ctx, name);
          return mapLookup(ctx, m.type, m.ptr, key);
        };
        for (const i of [0, 1, 2500, 4999]) assert.equal(intAt(ctx, look('vMapLarge', i)!), i * 10);
        assert.equal(look('vMapLarge', 5000), undefined);
        assert.equal(look('vMapLarge', -1), undefined);
        for (let i = 0; i < 105; i++)
          assert.equal(int64At(ctx, look('vMapGrowing', i)!), i === 0 ? 0 : -i, `growing[${i}]`);
        assert.equal(look('vMapDeleted', 3), undefined);
        assert.equal(intAt(ctx, look('vMapDeleted', 4)!), 4);
        assert.equal(intAt(ctx, look('vMapLargeStr', 'key01999')!), 1999);
        assert.equal(look('vMapLargeStr', 'key02000'), undefined);
        assert.equal(intAt(ctx, look('vMapStrInt', 'two')!), 2);
        assert.equal(look('vMapStrInt', ''), undefined);
        const big = mapOf(ctx, 'vMapIntStr');
        const s1 = mapLookup(ctx, big.type, big.ptr, 2n ** 40n)!;
        const s2 = mapLookup(ctx, big.type, big.ptr, 2 ** 40)!;
        assert.equal(s1, s2);
        assert.equal(decodeValueAt(ctx, mapTypes(ctx, big.type).value, s1), 'big');
        assert.equal(decodeValueAt(ctx, mapTypes(ctx, big.type).value, look('vMapIntStr', -2)!), 'minus two');
        assert.equal(mapLookup(ctx, big.type, 0 as Address, 1), undefined, 'nil map');
        assert.throws(
          () => look('vMapStrInt', 5),
          (e) => e instanceof PeriscopeError && e.kind === 'bad-usage',
        );
      });

      await t.test('cut markers under small limits', () => {
        const small = makeValueContext(bin, mem, NO_BIAS, { maxString: 5, maxElements: 2, maxDepth: 1 });
        assert.deepEqual(get(small, 'vString'), { '…': 'truncated', string: 'hello', len: 12 });
        assert.deepEqual(get(small, 'vUnicode'), { '…': 'truncated', string: 'héll', len: 18 });
        const s2 = makeValueContext(bin, mem, NO_BIAS, { maxString: 2 });
        assert.deepEqual(get(s2, 'vUnicode'), { '…': 'truncated', string: 'h', len: 18 }, 'no half rune');
        assert.deepEqual(get(small, 'vSliceLong'), [
          0,
          1,
          { '…': 'truncated', len: 1000, shown: 2, cap: 1000 },
        ]);
        assert.deepEqual(get(small, 'vArrayLong'), [0, 3, { '…': 'truncated', len: 100, shown: 2 }]);
        // Keys cut by maxString are markers, so the map falls back to the array form.
        const cutKeys = get(small, 'vMapLargeStr') as GoValue[];
        assert.equal(((cutKeys[0] as Obj).key as Obj)['…'], 'truncated');
        assert.deepEqual(cutKeys[2], { '…': 'truncated', len: 2000, shown: 2 });
        const few = makeValueContext(bin, mem, NO_BIAS, { maxElements: 2 });
        const ms = get(few, 'vMapLargeStr') as Obj;
        assert.deepEqual(ms['…'], { '…': 'truncated', len: 2000, shown: 2 });
        assert.equal(Object.keys(ms).length, 3);
        const mi = get(small, 'vMapIntStr') as GoValue[];
        assert.deepEqual(mi[2], { '…': 'truncated', len: 3, shown: 2 });
        const outer = get(small, 'vOuter') as Obj;
        const g = globalPlace(ctx, 'vOuter');
        const pt = (outer.Point as Obj).address!;
        assert.deepEqual(outer.Point, {
          address: pt,
          value: { '…': 'depth', type: 'main.Point', address: pt },
        });
        assert.deepEqual(
          outer.Next,
          { '…': 'cycle', type: 'main.Outer', address: hex(g.address) },
          'cycle before depth',
        );
        const deep = get(ctx, 'vOuter') as Obj;
        assert.deepEqual(deep.Next, { '…': 'cycle', type: 'main.Outer', address: hex(g.address) });
        const cyc = get(ctx, 'vCycle') as Obj;
        const next = ((cyc.value as Obj).Next as Obj).value as Obj;
        assert.deepEqual(next.Next, { '…': 'cycle', type: 'main.Node', address: cyc.address! });
      });

      await t.test('garbage memory never throws or hangs', () => {
        let seed = 12345;
        const garbage: Memory = {
          read(a: Address, n: number) {
            if (n > 1 << 20) throw new PeriscopeError('corrupt', `read of ${n} bytes at ${hex(a)}`);
            const b = new Uint8Array(n);
            for (let i = 0; i < n; i++) {
              seed = (seed * 1103515245 + 12345) >>> 0;
              b[i] = seed >>> 24;
            }
            // Some pointer-sized words point back into real memory ranges, like corrupt heaps do.
            if (n >= 8 && seed % 3 === 0) b.set(mem.read(a, 8).subarray(0, 8));
            return b;
          },
        };
        const bad = makeValueContext(bin, garbage, NO_BIAS, { maxElements: 16, maxDepth: 3 });
        for (const n of [
          'vMapLarge',
          'vMapStrInt',
          'vOuter',
          'vCtx',
          'vErrWrapped',
          'vIfacePtr',
          'vChanBuffered',
          'vSliceLong',
          'vTime',
        ]) {
          for (let i = 0; i < 20; i++) {
            // The root's bytes always read here: a failed evaluation would be a decoder that threw.
            const r = evaluateGlobal(bad, `main.${n}`);
            assert.ok(r.ok, `${n}: ${r.ok ? '' : r.error}`);
            JSON.stringify(r.value);
          }
        }
        const unmapped: Memory = {
          read(a: Address, n: number): Uint8Array {
            throw new PeriscopeError('corrupt', `cannot read ${n} bytes at ${hex(a)}`);
          },
        };
        const none = makeValueContext(bin, unmapped);
        const v = evaluateGlobal(none, 'main.vOuter');
        assert.equal(v.ok, false);
        assert.match(v.ok ? '' : v.error, /cannot read \d+ bytes at 0x/);
        // Below the root, an unreadable pointee is a marker and the rest still renders.
        const g = globalPlace(ctx, 'vPtr');
        const p = decodeValue(none, g.type, mem.read(g.address, 8)) as Obj;
        assert.equal((p.value as Obj)['…'], 'unreadable');
        assert.equal(ptrAt(new Uint8Array(8), 0), 0);
      });
    } finally {
      mem.close();
      await proc.kill();
    }
  });
}
