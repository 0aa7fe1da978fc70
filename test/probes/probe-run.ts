/**
 * Support of the compiled-probe tests: testdata/probe-values run under probes compiled from
 * specs, commands sent on its stdin, events drained from the ring buffer until enough came.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GoBinary } from '../../src/gobinary/go-binary.js';
import { AttachedProbes, type AttachOptions } from '../../src/probes/attached-probes.js';
import { type CompiledProbe, compileProbe } from '../../src/probes/compile/compile-probe.js';
import type { ProbeEvent } from '../../src/probes/decode/record-decode.js';
import type { ProbeSpec } from '../../src/probes/probe-spec.js';
import type { Toolchain } from '../../support/go-fixtures.js';
import { fixtureBinary } from '../../support/probe-fixture.js';
import { startTarget, type Target } from '../../support/target.js';

/** A target with probes attached. */
export interface ProbeRun {
  readonly target: Target;
  readonly bin: GoBinary;
  readonly probes: AttachedProbes;
  readonly compiled: readonly CompiledProbe[];
  /** Every event drained so far. */
  readonly events: ProbeEvent[];
  /** Sends a command and returns the target's "done" line. */
  command(cmd: string): Promise<string>;
  /** Drains events until `until()` holds (or 10 s pass). */
  drain(until: () => boolean): Promise<void>;
  /** The events of probe `name`. */
  of(name: string): ProbeEvent[];
}

/** Runs `body` with the fixture started and `specs` attached; everything is removed after. */
export async function withProbes(
  specs: readonly ProbeSpec[],
  body: (run: ProbeRun) => Promise<void>,
  opts: Partial<AttachOptions> & {
    toolchain?: Toolchain;
    env?: Record<string, string>;
    program?: string;
  } = {},
): Promise<void> {
  const bin = await fixtureBinary(opts.toolchain, opts.program);
  const compiled = specs.map((s) => compileProbe(bin, s));
  const target = await startTarget(bin.path, [], opts.env ?? {});
  let probes: AttachedProbes | undefined;
  try {
    probes = await AttachedProbes.attach(compiled, { ...opts, pid: target.pid });
    const p = probes;
    const events: ProbeEvent[] = [];
    const run: ProbeRun = {
      target,
      bin,
      probes: p,
      compiled,
      events,
      async command(cmd) {
        const since = performance.now();
        target.child.stdin!.write(`${cmd}\n`);
        return (await target.waitFor(/^done /, 120_000, since)).text;
      },
      async drain(until) {
        const deadline = performance.now() + 10_000;
        for (;;) {
          p.poll((e) => events.push(e));
          if (until() || performance.now() > deadline) return;
          await sleep(5);
        }
      },
      of: (name) => events.filter((e) => e.probe === name),
    };
    await body(run);
  } finally {
    await probes?.close();
    await target.kill();
  }
}

/** The value of a capture that must have succeeded. */
export function captured(e: ProbeEvent, expr: string): unknown {
  const r = e.values[expr];
  assert.ok(r, `event has a result for ${expr}`);
  assert.ok(r.ok, `${expr}: ${r.ok ? '' : r.error}`);
  return r.value;
}

export { fixtureBinary };
