/**
 * Registers of paused threads: the thread running main.spin (a tight loop) has its program
 * counter inside that function, at its link-time address (non-PIE) or shifted by the load
 * bias (PIE). The symbol's extent comes from `go tool nm -size`, not from our own parsers.
 */

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { addr } from '../../src/common/address.js';
import { executableImage } from '../../src/proc/maps.js';
import { pauseProcess } from '../../src/proc/pause.js';
import { USER_REGS_NAMES } from '../../src/proc/regs.amd64.js';
import { buildFixture, goTool } from '../../support/go-fixtures.js';
import { startTarget, type Target } from '../../support/target.js';

/** [entry, end) of a symbol per `go tool nm -size`. */
async function symbolExtent(binary: string, name: string): Promise<[number, number]> {
  const out = await goTool('local', ['nm', '-size', binary]);
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[3] === name) return [Number.parseInt(f[0]!, 16), Number.parseInt(f[0]!, 16) + Number(f[1]!)];
  }
  throw new Error(`${name} not in go tool nm output`);
}

describe('registers of a paused thread', { timeout: 120_000 }, () => {
  const targets: Target[] = [];
  after(async () => {
    for (const t of targets) await t.kill();
  });

  for (const pie of [false, true]) {
    it(`rip lies inside main.spin (${pie ? 'PIE: rip - bias' : 'non-PIE: link address'})`, async (t) => {
      const bin = await buildFixture('spinloop', { flags: pie ? ['-buildmode=pie'] : [] });
      const [entry, end] = await symbolExtent(bin.path, 'main.spin');
      const target = await startTarget(bin.path);
      targets.push(target);
      const image = executableImage(target.pid);
      assert.equal(image.elf.isPIE, pie);
      if (pie) assert.ok(image.bias.value > 0, 'a PIE is loaded at a non-zero bias');
      else assert.equal(image.bias.value, 0);
      t.diagnostic(
        `load bias 0x${image.bias.value.toString(16)}; main.spin [0x${entry.toString(16)}, 0x${end.toString(16)})`,
      );
      let inside = 0;
      const tries = 10;
      for (let i = 0; i < tries; i++) {
        const paused = pauseProcess(target.pid);
        paused.resume();
        for (const th of paused.threads) {
          assert.deepEqual(Object.keys(th.regs.all), [...USER_REGS_NAMES]);
          assert.equal(th.regs.pc, Number(th.regs.all.rip));
          assert.equal(th.regs.sp, Number(th.regs.all.rsp));
          assert.ok(th.regs.tls > 0, 'fs_base is set (Go uses it for TLS)');
        }
        const pcs = paused.threads.map((th) => image.bias.toLink(addr(th.regs.pc)));
        if (pcs.some((pc) => pc >= entry && pc < end)) inside++;
        await new Promise((r) => setTimeout(r, 20));
      }
      // Async preemption (SIGURG) or the scheduler may briefly run other code on the spinning
      // thread; most pauses must still find it in main.spin.
      t.diagnostic(`${inside}/${tries} pauses found a thread inside main.spin`);
      assert.ok(inside >= tries / 2, `${inside}/${tries} pauses found a thread inside main.spin`);
    });
  }
});
