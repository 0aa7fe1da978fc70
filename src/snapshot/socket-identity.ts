/**
 * After the pause: the identities of the sockets the spec's `socket(…)` captures found, and
 * the link notes of a process. A TCP or UDP end is named in the pause by its addresses; a
 * Unix end by the kernel's inode of its socket and of its peer (proc/unix-sockets.ts), read
 * now that the process runs again (the connections of in-flight calls stay open meanwhile).
 * A link whose rows lack an identity here is said once per process and reason
 * (`linkNotes`), not in every row.
 */
import type { Address } from '../common/address.js';
import type { GoValue } from '../goruntime/values/index.js';
import { bootId, networkNamespace, socketInode, unixPeers } from '../proc/unix-sockets.js';
import { type CapturePlan, matchName } from './capture-plan.js';
import type { CapturedValue, FrameCapture, LinkNote } from './snapshot-types.js';

type SocketObject = { [key: string]: GoValue };

/** A socket capture's value as an object (undefined for null or an expression error). */
function socketObject(v: CapturedValue): SocketObject | undefined {
  return v.value !== null && typeof v.value === 'object' && !Array.isArray(v.value) ? v.value : undefined;
}

/** Whether a value of a frame capture is one of the plan's socket captures. */
function isSocket(plan: CapturePlan, fc: FrameCapture, v: CapturedValue): boolean {
  return (
    plan.functions
      .get(matchName(fc.function))
      ?.find((fp) => fp.spec.table === fc.table)
      ?.captures.some((c) => c.column === v.column && c.socket) === true
  );
}

/** The peers of the caller's network namespace, or why they cannot be had (asked once). */
class Peers {
  private peers: Map<number, number> | undefined;
  private error: string | undefined;

  constructor(private readonly pid: number) {}

  /** The peer inode of `inode`, or why it is unknown. */
  of(inode: number): { peer: number } | { error: string } {
    if (!this.peers && this.error === undefined) {
      try {
        this.peers = unixPeers();
      } catch (e) {
        this.error = `Unix socket peers cannot be read: ${(e as Error).message} (docs/links.md, "Unix sockets")`;
      }
    }
    if (!this.peers) return { error: this.error! };
    const peer = this.peers.get(inode);
    if (peer !== undefined && peer !== 0) return { peer };
    const theirs = networkNamespace(this.pid);
    const ours = networkNamespace('self');
    if (theirs && ours && theirs !== ours)
      return {
        error: `the process is in network namespace ${theirs}, Periscope in ${ours}: the kernel's sock_diag shows the peers of Unix sockets in its own namespace only (docs/links.md, "Unix sockets")`,
      };
    return { error: 'the kernel lists no peer for this socket (the connection closed after the pause?)' };
  }
}

/**
 * The captures with the Unix sockets among them named: inode, peer inode and the identities
 * `unix BOOT_ID:INODE` (or `unresolved`, with why). Everything else is returned as it was.
 */
export function identifySockets(
  plan: CapturePlan,
  pid: number,
  captures: ReadonlyMap<Address, FrameCapture[]>,
): Map<Address, FrameCapture[]> {
  const out = new Map<Address, FrameCapture[]>();
  let peers: Peers | undefined;
  for (const [g, list] of captures) {
    out.set(
      g,
      list.map((fc) => {
        let changed = false;
        const values = fc.values.map((v) => {
          const o = socketObject(v);
          if (!o || o.socket !== null || 'unresolved' in o || typeof o.fd !== 'number') return v;
          if (!isSocket(plan, fc, v)) return v;
          changed = true;
          peers ??= new Peers(pid);
          return { ...v, value: unixIdentity(o, o.fd, pid, peers) };
        });
        return changed ? { ...fc, values } : fc;
      }),
    );
  }
  return out;
}

function unixIdentity(o: SocketObject, fd: number, pid: number, peers: Peers): SocketObject {
  const own = socketInode(pid, fd);
  if ('error' in own) return { ...o, unresolved: own.error };
  const p = peers.of(own.inode);
  if ('error' in p) return { ...o, inode: own.inode, unresolved: p.error };
  const boot = bootId();
  return {
    ...o,
    inode: own.inode,
    peer_inode: p.peer,
    socket: `unix ${boot}:${own.inode}`,
    peer: `unix ${boot}:${p.peer}`,
  };
}

/** Distinct reasons listed per link, table and column (the rest are counted together). */
const MAX_REASONS = 3;

/**
 * The links that cannot resolve in this process, or not for every row: the plan's (built-in
 * functions left out of this binary), then, per link and per socket capture of its tables,
 * the frames whose connection has no identity, once per reason.
 */
export function linkNotes(plan: CapturePlan, captures: ReadonlyMap<Address, FrameCapture[]>): LinkNote[] {
  const notes: LinkNote[] = [...plan.linkNotes];
  for (const fp of [...plan.functions.values()].flat()) {
    const links = plan.links.filter((l) => l.from.table === fp.spec.table || l.to.table === fp.spec.table);
    if (links.length === 0) continue;
    for (const c of fp.captures) {
      if (!c.socket) continue;
      let of = 0;
      const reasons = new Map<string, number>();
      for (const list of captures.values())
        for (const fc of list) {
          if (fc.table !== fp.spec.table) continue;
          of++;
          const v = fc.values.find((x) => x.column === c.column);
          const why = v ? socketObject(v)?.unresolved : undefined;
          if (typeof why === 'string') reasons.set(why, (reasons.get(why) ?? 0) + 1);
        }
      const ranked = [...reasons].sort((a, b) => b[1] - a[1]);
      const shown = ranked.slice(0, MAX_REASONS);
      const rest = ranked.slice(MAX_REASONS).reduce((n, [, k]) => n + k, 0);
      if (rest > 0) shown.push(['other reasons (see the rows)', rest]);
      for (const l of links)
        for (const [message, frames] of shown)
          notes.push({ link: l.name, table: fp.spec.table, column: c.column, frames, of, message });
    }
  }
  return notes;
}

/** `http_call: http_server_conns.conn: 3 of 5 frames: why`, the one line every surface prints. */
export function linkNoteText(n: LinkNote): string {
  const count =
    n.frames === undefined
      ? ''
      : `${n.frames} of ${n.of ?? n.frames} frame${(n.of ?? n.frames) === 1 ? '' : 's'}: `;
  return `${n.link}: ${n.table}.${n.column}: ${count}${n.message}`;
}
