/**
 * The `npx periscope …` commands of README.md with the output the README shows for them, and
 * the shape of a command's output (its table's columns and row count, or its line count), so
 * that a test can run each command against the demo and compare shapes rather than text.
 */

/** One command of the README and the output shown under it (none for a ```sh block). */
export interface ReadmeCommand {
  readonly command: string;
  readonly shown: readonly string[] | undefined;
  /** The README line of the command, for messages. */
  readonly line: number;
}

/** What a command's output looks like, independent of its values. */
export interface OutputShape {
  /** The table's column names in order, or undefined when the output is not a table. */
  readonly columns: readonly string[] | undefined;
  /** Rows of the table (its "(N rows)" footer when it has one), else non-empty lines. */
  readonly rows: number;
}

/**
 * Every `npx periscope` command of README.md: in ```console blocks the `$ npx periscope …`
 * lines with the output printed under each, in ```sh blocks the lines that name a server
 * (`--server`), which the demo can answer (the others show placeholders such as ./mybinary).
 */
export function readmeCommands(readme: string): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    const kind = fence[1];
    let j = i + 1;
    const body: { text: string; line: number }[] = [];
    for (; j < lines.length && !lines[j]!.startsWith('```'); j++) body.push({ text: lines[j]!, line: j + 1 });
    i = j;
    if (kind === 'console') {
      for (let k = 0; k < body.length; k++) {
        const m = /^\$ (npx periscope .*)$/.exec(body[k]!.text);
        if (!m) continue;
        const shown: string[] = [];
        for (let n = k + 1; n < body.length && !body[n]!.text.startsWith('$ '); n++)
          shown.push(body[n]!.text);
        out.push({ command: m[1]!, shown, line: body[k]!.line });
      }
    } else if (kind === 'sh') {
      for (const b of body)
        if (b.text.startsWith('npx periscope ') && b.text.includes('--server '))
          out.push({ command: b.text, shown: undefined, line: b.line });
    }
  }
  return out;
}

/** The shape of a command's output (a table when its first line is column names). */
export function outputShape(lines: readonly string[]): OutputShape {
  const text = lines.filter((l) => l.trim() !== '');
  const header = text[0]?.trim().split(/\s{2,}/) ?? [];
  const isTable = header.length >= 2 && header.every((c) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(c));
  if (!isTable) return { columns: undefined, rows: text.length };
  const body = text.slice(1);
  const footer = body.map((l) => /^\((\d+) rows?\)$/.exec(l.trim())).find((m) => m);
  if (footer) return { columns: header, rows: Number(footer[1]) };
  // Without a footer: every line but separators (---) and the README's trim marks (…).
  const rows = body.filter((l) => !/^[-\s+|]+$/.test(l) && l.trim() !== '…' && l.trim() !== '...');
  return { columns: header, rows: rows.length };
}

/**
 * Absolute paths of a checkout or home directory in `text` (a README must not show the
 * author's machine): /home/…, /root/…, /Users/…, /work/…, /tmp/…, or `checkout` itself.
 */
export function checkoutPaths(text: string, checkout: string): string[] {
  const found = [...text.matchAll(/(?:^|[\s`'"(=])(\/(?:home|root|Users|work|tmp)\/[^\s`'")]*)/gm)].map(
    (m) => m[1]!,
  );
  if (text.includes(checkout)) found.push(checkout);
  return found;
}
