/** net.IP as text, the way Go's IP.String() writes it: dotted IPv4 (also for IPv4-in-IPv6), RFC 5952 IPv6. */
import type { DwarfType } from '../../../dwarf/types.js';
import { ptrAt, u64At } from '../bytes.js';
import { fieldOf, type GoValue, type Walk } from '../walk.js';

/** Formats 4 or 16 address bytes as Go does; other lengths as "?" and hex, like Go. */
export function formatIP(ip: Uint8Array): string {
  const v4InV6 =
    ip.length === 16 && ip.subarray(0, 10).every((x) => x === 0) && ip[10] === 0xff && ip[11] === 0xff;
  if (ip.length === 4 || v4InV6) return [...ip.subarray(ip.length - 4)].join('.');
  if (ip.length !== 16) return `?${Buffer.from(ip).toString('hex')}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip[i]! << 8) | ip[i + 1]!);
  // The longest run of two or more zero groups becomes "::" (the first such run on ties).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hexes = groups.map((g) => g.toString(16));
  if (best < 0) return hexes.join(':');
  return `${hexes.slice(0, best).join(':')}::${hexes.slice(best + bestLen).join(':')}`;
}

/** Pretty form of net.IP: its text, or null for a nil/empty IP. */
export function prettyIP(w: Walk, t: DwarfType, bytes: Uint8Array): GoValue | undefined {
  const arr = fieldOf(w.ctx, t, 'array');
  const len = fieldOf(w.ctx, t, 'len');
  if (!arr || !len) return undefined;
  const n = u64At(bytes, len.offset);
  if (n === 0) return null;
  if (n > 64) return undefined;
  return formatIP(w.ctx.memory.read(ptrAt(bytes, arr.offset), n));
}
