/**
 * Go's own goroutine dump as text (runtime.Stack(buf, true), debug/pprof/goroutine?debug=2,
 * a crash) parsed into records: the oracle the tests compare snapshots with, and a way to
 * bring dumps taken elsewhere into Periscope.
 */

/** One frame line pair of a dump: "F(args)\n\tfile:line +0xoff". */
export interface DumpFrame {
  readonly function: string;
  readonly file: string;
  readonly line: number;
  /** pc - function entry, when printed (not for inlined frames). */
  readonly offset: number | undefined;
}

/** One "goroutine N [...]:" block of a dump. */
export interface DumpGoroutine {
  readonly id: number;
  /** The state in brackets: a wait reason when waiting, else the status ("running", "syscall"). */
  readonly state: string;
  /** "N minutes" in the header (only printed from one minute on). */
  readonly minutes: number | undefined;
  readonly lockedToThread: boolean;
  /** Frames in print order (innermost first); elided frames are missing. */
  readonly frames: DumpFrame[];
  /** Where "...N frames elided..." appeared: frames[at] is the first frame after the gap. */
  readonly elided: { readonly at: number; readonly count: number } | undefined;
  /** "goroutine running on other thread; stack unavailable". */
  readonly stackUnavailable: boolean;
  readonly createdBy:
    | {
        readonly function: string;
        readonly parentId: number | undefined;
        readonly file: string;
        readonly line: number;
      }
    | undefined;
}

const HEADER = /^goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[(.*)\]:$/;
const FILE_LINE = /^\t(.*):(\d+)(?: \+0x([0-9a-f]+))?(?: fp=.*)?$/;
const CREATED = /^created by (.+?)(?: in goroutine (\d+))?$/;
const ELIDED = /^\.\.\.(\d+) frames elided\.\.\.$/;

/** Parses every goroutine block of a dump; lines it does not understand are skipped. */
export function parseGoroutineDump(text: string): DumpGoroutine[] {
  const lines = text.split('\n');
  const out: DumpGoroutine[] = [];
  let i = 0;
  while (i < lines.length) {
    const m = HEADER.exec(lines[i]!);
    i++;
    if (!m) continue;
    const parts = m[2]!.split(', ');
    let state = parts[0]!.replace(/ \((scan|leaked|durable)\)$/, '');
    state = state.replace(/ \((scan|leaked|durable)\)$/, '');
    const minutesPart = parts.find((p) => / minutes$/.test(p));
    const frames: DumpFrame[] = [];
    let elided: DumpGoroutine['elided'];
    let createdBy: DumpGoroutine['createdBy'];
    let stackUnavailable = false;
    while (i < lines.length && lines[i] !== '' && !HEADER.test(lines[i]!)) {
      const line = lines[i]!;
      i++;
      const e = ELIDED.exec(line);
      if (e) {
        elided = { at: frames.length, count: Number(e[1]) };
        continue;
      }
      if (line.includes('goroutine running on other thread')) {
        stackUnavailable = true;
        continue;
      }
      const c = CREATED.exec(line);
      const fl = FILE_LINE.exec(lines[i] ?? '');
      if (c) {
        if (fl) i++;
        createdBy = {
          function: c[1]!,
          parentId: c[2] === undefined ? undefined : Number(c[2]),
          file: fl?.[1] ?? '?',
          line: fl ? Number(fl[2]) : 0,
        };
        continue;
      }
      if (!fl || line.startsWith('\t')) continue;
      i++;
      frames.push({
        function: stripArgs(line),
        file: fl[1]!,
        line: Number(fl[2]),
        offset: fl[3] === undefined ? undefined : Number.parseInt(fl[3], 16),
      });
    }
    out.push({
      id: Number(m[1]),
      state,
      minutes: minutesPart === undefined ? undefined : Number.parseInt(minutesPart, 10),
      lockedToThread: parts.includes('locked to thread'),
      frames,
      elided,
      stackUnavailable,
      createdBy,
    });
  }
  return out;
}

/** "pkg.F(0x1, ...)" -> "pkg.F": drops the last balanced parenthesised group. */
function stripArgs(line: string): string {
  if (!line.endsWith(')')) return line;
  let depth = 0;
  for (let j = line.length - 1; j >= 0; j--) {
    const ch = line[j];
    if (ch === ')') depth++;
    else if (ch === '(' && --depth === 0) return line.slice(0, j);
  }
  return line;
}
