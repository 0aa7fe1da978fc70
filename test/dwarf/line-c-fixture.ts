/**
 * Builds testdata/lines/c/exprs.c with gcc (DWARF 4 and 5): expressions and line tables
 * beyond what Go emits. Resolves to a skip reason when gcc is missing.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, TESTDATA } from '../../support/go-fixtures.js';

const run = promisify(execFile);

/** The DWARF versions the C fixture is built with. */
export const C_DWARF_VERSIONS = [4, 5] as const;

const built = new Map<number, Promise<{ path?: string; skip?: string }>>();

/** Builds the C fixture for a DWARF version (cached by source hash); {skip} when gcc is unavailable. */
export function buildCFixture(version: 4 | 5): Promise<{ path?: string; skip?: string }> {
  let p = built.get(version);
  if (!p) {
    p = (async () => {
      const src = join(TESTDATA, 'lines', 'c', 'exprs.c');
      const flags = ['-O2', `-gdwarf-${version}`, '-fno-asynchronous-unwind-tables'];
      const h = createHash('sha256').update(readFileSync(src)).update(flags.join(' ')).digest('hex');
      const dir = join(ROOT, '.cache', 'fixtures', `c-exprs-${h.slice(0, 16)}`);
      const out = join(dir, 'exprs');
      if (existsSync(out)) return { path: out };
      mkdirSync(dir, { recursive: true });
      try {
        const tmp = `${out}.tmp${process.pid}`;
        await run('gcc', [...flags, '-o', tmp, src]);
        renameSync(tmp, out);
        return { path: out };
      } catch (e) {
        return { skip: `gcc could not build the C fixture: ${(e as Error).message.split('\n')[0]}` };
      }
    })();
    built.set(version, p);
  }
  return p;
}
