/** Decoded Go values (docs/values.md's JSON) as OTLP's JSON AnyValue, for log and span attributes. */

/** OTLP's JSON AnyValue of a decoded Go value (docs/values.md's JSON). */
export function anyValue(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (typeof v === 'bigint') return { intValue: v.toString() };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  if (typeof v === 'object')
    return {
      kvlistValue: {
        values: Object.entries(v as Record<string, unknown>).map(([key, x]) => ({ key, value: anyValue(x) })),
      },
    };
  return { stringValue: String(v) };
}
