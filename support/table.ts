/** Plain-text tables for benchmark output. */

/** Formats rows as an aligned text table with a header rule; the first row is the header. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  const line = (row: readonly string[]): string =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const [head, ...body] = rows;
  if (!head) return '';
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Milliseconds as "1234 ms". */
export function ms(x: number): string {
  return `${Math.round(x)} ms`;
}

/** KiB as "123 MiB". */
export function mib(kib: number): string {
  return `${Math.round(kib / 1024)} MiB`;
}
