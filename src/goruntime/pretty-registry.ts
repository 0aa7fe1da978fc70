/** The pretty forms by Go type name (built on first use, so pretty modules load in any order). */
import { prettyContext } from './pretty-context.js';
import { prettyDuration } from './pretty-duration.js';
import { prettyError } from './pretty-errors.js';
import { prettyIP } from './pretty-net.js';
import { prettyMutex, prettyRWMutex } from './pretty-sync.js';
import { prettyTime } from './pretty-time.js';
import type { PrettyForm } from './value-walk.js';

let registry: Map<string, PrettyForm> | undefined;

/** The pretty form for values of the named type, if Periscope has one. */
export function prettyFormFor(typeName: string): PrettyForm | undefined {
  registry ??= new Map<string, PrettyForm>([
    ['time.Time', prettyTime],
    ['time.Duration', prettyDuration],
    ['context.Context', prettyContext],
    ['sync.Mutex', prettyMutex],
    ['sync.RWMutex', prettyRWMutex],
    ['net.IP', prettyIP],
    ['error', prettyError],
  ]);
  return registry.get(typeName);
}

/** Names of the types that have pretty forms (for documentation and tests). */
export function prettyTypeNames(): string[] {
  prettyFormFor('');
  return [...registry!.keys()];
}
