/**
 * The expression tests' comparison of our decoded JSON with Delve's api.Variable (the
 * client is support/delve.ts).
 */
import type { DlvVariable } from '../../../support/delve.js';

const KIND_BOOL = 1;
const KIND_FLOAT = [13, 14];
const KIND_ARRAY = 17;
const KIND_PTR = 22;
const KIND_SLICE = 23;
const KIND_STRING = 24;
const KIND_STRUCT = 25;

/** Differences between our JSON value and Delve's variable (scalars, structs, pointers, arrays, slices). */
export function diffWithDelve(ours: unknown, dlv: DlvVariable, path = '', out: string[] = []): string[] {
  if (dlv.unreadable) {
    out.push(`${path}: Delve could not read it: ${dlv.unreadable}`);
    return out;
  }
  const kids = dlv.children ?? [];
  if (dlv.kind === KIND_STRING || (dlv.kind >= 2 && dlv.kind <= 12) || dlv.kind === KIND_BOOL) {
    const want = dlv.kind === KIND_BOOL ? dlv.value === 'true' : dlv.value;
    const got = dlv.kind === KIND_BOOL ? ours : String(ours);
    if (got !== want) out.push(`${path}: ours ${JSON.stringify(ours)}, Delve ${dlv.value}`);
  } else if (KIND_FLOAT.includes(dlv.kind)) {
    if (Number(ours) !== Number(dlv.value))
      out.push(`${path}: ours ${JSON.stringify(ours)}, Delve ${dlv.value}`);
  } else if (dlv.kind === KIND_PTR) {
    const o = ours as { value?: unknown } | null;
    if (dlv.value === '' && kids.length === 0) return out;
    if (kids.length > 0 && kids[0]!.kind !== 0 && o && typeof o === 'object' && 'value' in o)
      diffWithDelve(o.value, kids[0]!, `${path}.*`, out);
  } else if (dlv.kind === KIND_STRUCT) {
    const o = ours as Record<string, unknown>;
    for (const k of kids) if (o && k.name in o) diffWithDelve(o[k.name], k, `${path}.${k.name}`, out);
  } else if (dlv.kind === KIND_ARRAY || dlv.kind === KIND_SLICE) {
    const arr = ours as unknown[];
    if (!Array.isArray(arr)) out.push(`${path}: ours is not an array: ${JSON.stringify(ours)}`);
    else
      kids.forEach((k, i) => {
        if (i < arr.length) diffWithDelve(arr[i], k, `${path}[${i}]`, out);
      });
  }
  return out;
}
