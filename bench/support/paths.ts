/** Where benchmarks find the repository and keep the binaries they build. */
import { join, resolve } from 'node:path';

/** Repository root (benchmarks run from dist/bench/..., inputs live in the checkout). */
export const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** Directory for built benchmark inputs (gitignored): .cache/bench. */
export const BENCH_CACHE = join(ROOT, '.cache', 'bench');
