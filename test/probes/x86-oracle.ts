/**
 * Instruction boundaries as two disassemblers no one here wrote see them: `go tool objdump`
 * (per Go function; it prints '?' for bytes it cannot decode, e.g. AVX-512) and binutils'
 * `objdump -d` (every instruction of .text, gcc's C code included).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { goTool } from '../../support/go-fixtures.js';

const run = promisify(execFile);

/** One function as `go tool objdump` lists it. */
export interface GoObjdumpFunction {
  readonly name: string;
  readonly addresses: number[];
  /** Each instruction's file:line (e.g. "main.go:22") and its Go assembly text. */
  readonly positions: string[];
  readonly texts: string[];
  /** Whether it printed '?' somewhere in the function (it lost its way there). */
  unknown: boolean;
  /** The address after the last instruction. */
  end: number;
}

/** Every TEXT block of `go tool objdump` (the machine's Go reads older releases' binaries too). */
export async function goObjdump(path: string): Promise<Map<number, GoObjdumpFunction>> {
  const out = await goTool('local', ['objdump', path]);
  const byEntry = new Map<number, GoObjdumpFunction>();
  let cur: GoObjdumpFunction | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('TEXT ')) {
      cur = {
        name: line.slice(5, line.indexOf('(SB)')),
        addresses: [],
        positions: [],
        texts: [],
        unknown: false,
        end: 0,
      };
      continue;
    }
    if (!cur) continue;
    const m = /^\s+(\S+)\t+0x([0-9a-f]+)\t+([0-9a-f]+)\t+(.*)$/.exec(line);
    if (!m) continue;
    const a = Number.parseInt(m[2]!, 16);
    if (cur.addresses.length === 0) byEntry.set(a, cur);
    cur.addresses.push(a);
    cur.positions.push(m[1]!);
    cur.texts.push(m[4]!.trim());
    cur.end = a + m[3]!.length / 2;
    if (m[4]!.trim() === '?') cur.unknown = true;
  }
  return byEntry;
}

/** Every instruction binutils' objdump finds in .text: sorted addresses and each one's kind. */
export interface BinutilsListing {
  readonly addresses: Float64Array;
  /** The kind of the instruction at each address, in the classifier's terms. */
  readonly kinds: Map<number, string>;
}

const PREFIX_WORDS = new Set([
  'rep',
  'repz',
  'repnz',
  'repe',
  'repne',
  'lock',
  'bnd',
  'notrack',
  'data16',
  'addr32',
  'cs',
  'ds',
  'es',
  'ss',
  'fs',
  'gs',
]);

/** The classifier's kind for a binutils mnemonic (AT&T syntax, with its operands). */
function kindOfText(text: string): string {
  const words = text.trim().split(/\s+/);
  let i = 0;
  while (i < words.length - 1 && (PREFIX_WORDS.has(words[i]!) || words[i]!.startsWith('rex'))) i++;
  const m = words[i]!;
  const operands = words.slice(i + 1).join(' ');
  if (/^(ret|retq|retw|lret|lretq)$/.test(m)) return 'ret';
  if (/^(call|callq|callw|lcall)$/.test(m)) return 'call';
  if (/^(jmp|jmpq|jmpw|ljmp)$/.test(m)) return 'jmp';
  if (/^(j[a-z]+|loop[a-z]*)$/.test(m)) return 'jcc';
  if (/^(push|pushq|pushw)$/.test(m)) return 'push';
  if (/^(nop|nopw|nopl|nopq|pause|endbr64)$/.test(m) || (m === 'xchg' && operands === '%ax,%ax'))
    return 'nop';
  if (m === 'int3') return 'int3';
  return 'other';
}

/** Every instruction of .text as binutils' objdump decodes it. */
export async function binutilsListing(path: string): Promise<BinutilsListing> {
  const { stdout } = await run('objdump', ['-d', '-w', '--no-show-raw-insn', '-j', '.text', path], {
    maxBuffer: 1 << 30,
  });
  const out: number[] = [];
  const kinds = new Map<number, string>();
  for (const m of stdout.matchAll(/^ {1,2}([0-9a-f]+):\t([^\n]*)$/gm)) {
    const a = Number.parseInt(m[1]!, 16);
    out.push(a);
    kinds.set(a, kindOfText(m[2]!));
  }
  return { addresses: Float64Array.from(out).sort(), kinds };
}

/** The addresses in [start, end) of a sorted list. */
export function addressesIn(sorted: Float64Array, start: number, end: number): number[] {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < start) lo = mid + 1;
    else hi = mid;
  }
  const out: number[] = [];
  for (let i = lo; i < sorted.length && sorted[i]! < end; i++) out.push(sorted[i]!);
  return out;
}
