/**
 * The redaction a process's values are decoded with under a spec: the built-in rules
 * (goruntime/values/redaction.ts) plus the spec's `redaction.names` and `redaction.types`,
 * or none where the spec's `redaction.off` applies. Snapshots (snapshot/capture-plan.ts) and
 * probe events (probes/decode/record-decode.ts) both take it from here.
 */
import { Redactor } from '../goruntime/values/index.js';
import type { Spec } from './spec-types.js';

/**
 * The redaction of a process that matches `programs` (names of the spec's program rules):
 * the defaults plus the spec's rules, or none when the spec's `redaction.off` lists `*` or
 * one of those programs.
 */
export function redactionFor(spec: Spec, programs: readonly string[] = []): Redactor | undefined {
  const r = spec.redaction;
  if (r?.off.some((p) => p === '*' || programs.includes(p))) return undefined;
  return new Redactor({ names: r?.names ?? [], types: r?.types ?? [] });
}
