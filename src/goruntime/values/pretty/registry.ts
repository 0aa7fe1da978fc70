/** The pretty forms by Go type name (built on first use, so pretty modules load in any order). */

import type { PrettyForm } from '../walk.js';
import { prettyContext } from './context.js';
import { prettyDuration } from './duration.js';
import { prettyError } from './errors.js';
import { prettyIP } from './net.js';
import { prettyMutex, prettyRWMutex } from './sync.js';
import { prettyTime } from './time.js';

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
