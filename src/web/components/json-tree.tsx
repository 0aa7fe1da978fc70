/** A captured Go value as collapsible JSON: objects and arrays fold, scalars show inline. */

/** A JSON value as captured values are. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function scalar(v: Json) {
  if (v === null) return <span class="j-null">null</span>;
  if (typeof v === 'string') return <span class="j-str">"{v}"</span>;
  if (typeof v === 'number') return <span class="j-num">{String(v)}</span>;
  return <span class="j-bool">{String(v)}</span>;
}

function summary(v: Json[] | { [k: string]: Json }): string {
  if (Array.isArray(v)) return `[${v.length}]`;
  const keys = Object.keys(v);
  return `{${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', …' : ''}}`;
}

/** One value; `open` unfolds the first level. */
export function JsonTree({ value, name, open = false }: { value: Json; name?: string; open?: boolean }) {
  const label = name !== undefined ? <span class="j-key">{name}: </span> : null;
  if (value === null || typeof value !== 'object')
    return (
      <div class="j-line">
        {label}
        {scalar(value)}
      </div>
    );
  const entries: [string, Json][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  if (entries.length === 0)
    return (
      <div class="j-line">
        {label}
        <span class="j-null">{Array.isArray(value) ? '[]' : '{}'}</span>
      </div>
    );
  return (
    <details class="j-node" open={open}>
      <summary>
        {label}
        <span class="j-sum">{summary(value)}</span>
      </summary>
      <div class="j-kids">
        {entries.map(([k, v]) => (
          <JsonTree key={k} name={k} value={v} />
        ))}
      </div>
    </details>
  );
}

/** Parses JSON text of a captured value (text that is not JSON is shown as a string). */
export function parseValue(text: string | null): Json {
  if (text === null) return null;
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}
