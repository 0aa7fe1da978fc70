/**
 * The socket behind a Go connection value: from a `net.Conn` (or anything holding one) to
 * the `net.netFD` the runtime reads and writes through, across the wrappers services put
 * around their connections (timeouts, metrics, TLS, multiplexers). The walk follows, in
 * order, embedded fields and then named fields whose type can lead to a socket: structs and
 * pointers that do, and `net.Conn` interfaces (whose dynamic value it unboxes). Other
 * interfaces (io.Reader, …) are not followed: nothing says what they hold.
 *
 * `socketReach` answers the same question from the static types alone, before any capture:
 * a value that can never hold a socket in this binary need not be read in a pause.
 */
import { type Address, addr, hex } from '../../common/address.js';
import type { DwarfData } from '../../dwarf/dwarf-data.js';
import type { DwarfType, TypeField } from '../../dwarf/types.js';
import { MemoryError } from '../../proc/memory.js';
import { typeAtOffset } from './built-types.js';
import { i64At, ptrAt, u64At } from './bytes.js';
import type { ValueContext } from './context.js';
import { decodeValue } from './decode.js';
import { interfaceParts, isDirectIface } from './interfaces.js';
import type { GoValue } from './walk.js';

/** The struct the net package keeps a socket in. */
const NET_FD = 'net.netFD';
/** The interface whose dynamic values the walk unboxes. */
const NET_CONN = 'net.Conn';
/** The net package's socket-backed connections (each embeds net.conn, which holds a *netFD). */
const SOCKET_CONNS = ['*net.TCPConn', '*net.UnixConn', '*net.UDPConn', '*net.IPConn'];
/** Hops the walk takes at most (a wrapper of a wrapper of … a conn). */
const MAX_HOPS = 12;

/** One end of a socket as its process sees it. */
export interface SocketEnd {
  /** The Go network name, without a 4/6 suffix: `tcp`, `udp`, `unix`, `unixpacket`, … */
  readonly network: string;
  /** The local address as Go prints it (`127.0.0.1:5000`, `[::1]:5000`, a socket path, or ''). */
  readonly local: string;
  readonly remote: string;
  /** IP sockets: each end's IP (as Go prints a net.IP) and port. */
  readonly localIp?: string;
  readonly localPort?: number;
  readonly remoteIp?: string;
  readonly remotePort?: number;
  /** The file descriptor (poll.FD.Sysfd). */
  readonly fd: number;
  /** The dynamic types unboxed on the way, outermost first (`*main.timeoutConn`, `*net.TCPConn`). */
  readonly via: readonly string[];
}

/** The socket, or why none was found. */
export type SocketResult =
  | { readonly ok: true; readonly socket: SocketEnd }
  | { readonly ok: false; readonly error: string };

/** Whether a static type can lead to a socket: yes (always, unless nil), maybe (through an interface), no. */
export type Reach = 'yes' | 'maybe' | 'no';

const RANK: Record<Reach, number> = { no: 0, maybe: 1, yes: 2 };

const reachCache = new WeakMap<DwarfData, Map<number, Reach>>();
const boxedCache = new WeakMap<DwarfData, boolean>();

/** Whether any of net's socket-backed connection types is ever stored in an interface in this binary. */
export function socketConnsBoxed(dwarf: DwarfData): boolean {
  let b = boxedCache.get(dwarf);
  if (b === undefined) {
    b = SOCKET_CONNS.some((n) => dwarf.findType(n)?.runtimeType !== undefined);
    boxedCache.set(dwarf, b);
  }
  return b;
}

function goKind(dwarf: DwarfData, t: DwarfType): string | undefined {
  return t.kind ?? dwarf.underlying(t).kind;
}

/** The fields the walk follows, in its order: embedded ones first, then named ones. */
function followed(dwarf: DwarfData, t: DwarfType): TypeField[] {
  const fields = dwarf.underlying(t).fields ?? [];
  const out = [...fields.filter((f) => f.embedded), ...fields.filter((f) => !f.embedded)];
  return out.filter((f) => f.type !== undefined && fieldReach(dwarf, typeAtOffset(dwarf, f.type)) !== 'no');
}

/** The reach of a field's type: interfaces only when they are net.Conn. */
function fieldReach(dwarf: DwarfData, t: DwarfType): Reach {
  if (goKind(dwarf, t) === 'interface') return t.name === NET_CONN ? interfaceReach(dwarf) : 'no';
  return socketReach(dwarf, t);
}

function interfaceReach(dwarf: DwarfData): Reach {
  return socketConnsBoxed(dwarf) ? 'maybe' : 'no';
}

/**
 * Whether a value of static type `t` can lead to a socket in this binary: a net.netFD, a
 * pointer to or struct holding one (through followed fields), or any interface (its dynamic
 * value may be a connection) when the binary ever boxes a socket-backed connection.
 */
export function socketReach(dwarf: DwarfData, t: DwarfType): Reach {
  let cache = reachCache.get(dwarf);
  if (!cache) {
    cache = new Map();
    reachCache.set(dwarf, cache);
  }
  const known = cache.get(t.offset);
  if (known !== undefined) return known;
  cache.set(t.offset, 'no'); // a type that refers back to itself adds nothing on that path
  let r: Reach = 'no';
  const kind = goKind(dwarf, t);
  if (t.name === NET_FD) r = 'yes';
  else if (kind === 'interface') r = interfaceReach(dwarf);
  else if (kind === 'ptr') {
    const e = t.elem ?? dwarf.underlying(t).elem ?? dwarf.underlying(t).type;
    r = e === undefined ? 'no' : socketReach(dwarf, typeAtOffset(dwarf, e));
  } else if (kind === 'struct')
    for (const f of dwarf.underlying(t).fields ?? []) {
      if (f.type === undefined) continue;
      const fr = fieldReach(dwarf, typeAtOffset(dwarf, f.type));
      if (RANK[fr] > RANK[r]) r = fr;
      if (r === 'yes') break;
    }
  cache.set(t.offset, r);
  return r;
}

class WalkError extends Error {}

function read(ctx: ValueContext, a: Address, size: number): Uint8Array {
  if (a === 0) throw new WalkError('nil pointer');
  try {
    return ctx.memory.read(a, size);
  } catch (e) {
    if (e instanceof MemoryError) throw new WalkError(`cannot read ${size} bytes at ${hex(a)}`);
    throw e;
  }
}

/** A value on the walk: its type and its bytes (read lazily from `address`). */
interface Held {
  readonly t: DwarfType;
  readonly bytes?: Uint8Array;
  readonly address?: Address;
}

function bytesOf(ctx: ValueContext, v: Held, size = v.t.byteSize ?? 0): Uint8Array {
  if (v.bytes) return v.bytes;
  if (v.address === undefined) throw new WalkError(`a ${v.t.name ?? 'value'} with neither bytes nor address`);
  return read(ctx, v.address, size);
}

function part(ctx: ValueContext, v: Held, offset: number, t: DwarfType): Held {
  if (v.address !== undefined) return { t, address: addr(v.address + offset) };
  const b = bytesOf(ctx, v);
  return { t, bytes: b.subarray(offset, offset + (t.byteSize ?? 0)) };
}

/** The socket a connection value leads to: its netFD's descriptor, network and addresses. */
export function socketOf(
  ctx: ValueContext,
  t: DwarfType,
  bytes: Uint8Array,
  address: Address | undefined,
): SocketResult {
  const via: string[] = [];
  const tried: string[] = [];
  try {
    const fd = find(ctx, { t, bytes, ...(address !== undefined ? { address } : {}) }, via, tried, 0);
    if (fd) return { ok: true, socket: netFD(ctx, fd, via) };
    return {
      ok: false,
      error: `no socket behind this ${t.name ?? 'value'}${tried.length > 0 ? ` (${tried.join('; ')})` : ''}`,
    };
  } catch (e) {
    if (e instanceof WalkError || e instanceof RangeError)
      return { ok: false, error: `while looking for its socket: ${e.message}` };
    throw e;
  }
}

/** The netFD reached from `v`, or undefined (what was tried is in `tried`). */
function find(ctx: ValueContext, v: Held, via: string[], tried: string[], hops: number): Held | undefined {
  if (hops > MAX_HOPS) {
    tried.push(`more than ${MAX_HOPS} wrappers`);
    return undefined;
  }
  const d = ctx.dwarf;
  const kind = goKind(d, v.t);
  if (v.t.name === NET_FD) return v;
  if (kind === 'interface') {
    const parts = interfaceParts(ctx, v.t, bytesOf(ctx, v));
    if (parts.typeDescriptor === 0) {
      tried.push(`${v.t.name ?? 'interface'} is nil`);
      return undefined;
    }
    const dt = parts.dynamicType;
    if (!dt) {
      tried.push(`the dynamic type of a ${v.t.name ?? 'interface'} is not described in DWARF`);
      return undefined;
    }
    via.push(dt.name ?? '?');
    const inner: Held = isDirectIface(ctx, dt)
      ? { t: dt, bytes: wordBytes(parts.data, dt.byteSize ?? 8) }
      : { t: dt, address: parts.data };
    const r = find(ctx, inner, via, tried, hops + 1);
    if (!r) {
      via.pop();
      if (socketReach(d, dt) === 'no') tried.push(`${dt.name ?? '?'} holds no net.Conn`);
    }
    return r;
  }
  if (kind === 'ptr') {
    const e = v.t.elem ?? d.underlying(v.t).elem ?? d.underlying(v.t).type;
    if (e === undefined) return undefined;
    const p = ptrAt(bytesOf(ctx, v, 8), 0);
    if (p === 0) {
      tried.push(`nil ${v.t.name ?? 'pointer'}`);
      return undefined;
    }
    return find(ctx, { t: typeAtOffset(d, e), address: p }, via, tried, hops + 1);
  }
  if (kind === 'struct')
    for (const f of followed(d, v.t)) {
      const r = find(ctx, part(ctx, v, f.offset, typeAtOffset(d, f.type!)), via, tried, hops + 1);
      if (r) return r;
    }
  return undefined;
}

function wordBytes(word: Address, size: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(word), true);
  return b.subarray(0, Math.min(size, 8));
}

function field(ctx: ValueContext, v: Held, name: string): Held {
  const f = ctx.dwarf.underlying(v.t).fields?.find((x) => x.name === name);
  if (!f || f.type === undefined) throw new WalkError(`${v.t.name ?? 'struct'} has no field ${name}`);
  return part(ctx, v, f.offset, typeAtOffset(ctx.dwarf, f.type));
}

function intOf(ctx: ValueContext, v: Held): number {
  return i64At(bytesOf(ctx, v, 8), 0);
}

function stringOf(ctx: ValueContext, v: Held): string {
  const b = bytesOf(ctx, v, 16);
  const len = Math.min(u64At(b, 8), 256);
  if (len === 0) return '';
  return new TextDecoder().decode(read(ctx, ptrAt(b, 0), len));
}

/** The netFD's descriptor, network and both addresses. */
function netFD(ctx: ValueContext, fd: Held, via: readonly string[]): SocketEnd {
  const sysfd = intOf(ctx, field(ctx, field(ctx, fd, 'pfd'), 'Sysfd'));
  const network = stringOf(ctx, field(ctx, fd, 'net')).replace(/[46]$/, '');
  const local = addrOf(ctx, field(ctx, fd, 'laddr'));
  const remote = addrOf(ctx, field(ctx, fd, 'raddr'));
  return {
    network,
    local: local.text,
    remote: remote.text,
    ...(local.ip !== undefined ? { localIp: local.ip } : {}),
    ...(local.port !== undefined ? { localPort: local.port } : {}),
    ...(remote.ip !== undefined ? { remoteIp: remote.ip } : {}),
    ...(remote.port !== undefined ? { remotePort: remote.port } : {}),
    fd: sysfd,
    via,
  };
}

/** A net.Addr: as Go's String() prints it ('' for a nil address), and an IP address's parts. */
function addrOf(ctx: ValueContext, a: Held): { text: string; ip?: string; port?: number } {
  const parts = interfaceParts(ctx, a.t, bytesOf(ctx, a));
  const dt = parts.dynamicType;
  if (parts.typeDescriptor === 0 || !dt || parts.data === 0) return { text: '' };
  const u = ctx.dwarf.underlying(dt);
  const e = u.elem ?? u.type;
  if (goKind(ctx.dwarf, dt) !== 'ptr' || e === undefined) return { text: '' };
  const st = typeAtOffset(ctx.dwarf, e);
  const v = decodeValue(ctx, st, read(ctx, parts.data, st.byteSize ?? 0), parts.data);
  return addrParts(v);
}

function addrParts(v: GoValue): { text: string; ip?: string; port?: number } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { text: '' };
  if (typeof v.Name === 'string') return { text: v.Name };
  if (typeof v.IP !== 'string') return { text: '' };
  const zone = typeof v.Zone === 'string' && v.Zone !== '' ? `%${v.Zone}` : '';
  const host = v.IP.includes(':') ? `[${v.IP}${zone}]` : `${v.IP}${zone}`;
  const port = typeof v.Port === 'number' ? v.Port : undefined;
  return {
    text: port === undefined ? host : `${host}:${port}`,
    ip: v.IP,
    ...(port !== undefined ? { port } : {}),
  };
}
