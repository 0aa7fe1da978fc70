/**
 * Periscope's own corner of tracefs (PLATFORM.md): each agent's uprobe events in a group of its
 * own, `periscope_<pid>`, enabled only in its own instance, `periscope-<pid>`. tracefs probes are
 * not tied to a file descriptor: they survive their maker (and keep costing every hit), so
 * whoever starts cleans what a crashed predecessor left — the groups and instances of agents
 * that are no longer running (and the single `periscope` group and instance of older
 * versions), never a running agent's (two agents on one machine, or tests run side by side,
 * leave each other alone), never anyone else's.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PeriscopeError } from '../../common/errors.js';

/** Where tracefs is mounted. */
export const TRACEFS = existsSync('/sys/kernel/tracing/uprobe_events')
  ? '/sys/kernel/tracing'
  : '/sys/kernel/debug/tracing';
/** The group (and instance) name of versions before per-agent groups; still cleaned. */
const LEGACY = 'periscope';

/** The group of the uprobe events of the agent with this pid (this process by default). */
export function groupOf(pid = process.pid): string {
  return `${LEGACY}_${pid}`;
}

/** The tracing instance's directory where the agent with this pid enables and reads its events. */
export function instanceDir(pid = process.pid): string {
  return join(TRACEFS, 'instances', `${LEGACY}-${pid}`);
}

/** Appends one definition (or `-:GROUP/NAME`) to uprobe_events; the kernel's refusal says which line. */
export function writeUprobeEvents(line: string): void {
  try {
    writeFileSync(join(TRACEFS, 'uprobe_events'), `${line}\n`, { flag: 'a' });
  } catch (e) {
    throw new PeriscopeError(
      'unsupported',
      `tracefs refused "${line.slice(0, 200)}": ${(e as NodeJS.ErrnoException).code ?? e}`,
    );
  }
}

/** A uprobe event of Periscope's: its group and name, and the pid of the agent that owns it. */
interface OurEvent {
  readonly group: string;
  readonly name: string;
  /** undefined: the legacy group, owned by no running agent we can tell. */
  readonly pid: number | undefined;
}

/** The owner's pid of a Periscope group or instance name, null when the name is not ours. */
function ownerOf(name: string, sep: '_' | '-'): number | undefined | null {
  if (name === LEGACY) return undefined;
  const m = new RegExp(`^${LEGACY}${sep}(\\d+)$`).exec(name);
  return m ? Number(m[1]) : null;
}

function periscopeEvents(): OurEvent[] {
  let text: string;
  try {
    text = readFileSync(join(TRACEFS, 'uprobe_events'), 'utf8');
  } catch {
    return [];
  }
  const out: OurEvent[] = [];
  for (const line of text.split('\n')) {
    const m = /^[pr]:([^/\s]+)\/(\S+)/.exec(line);
    if (!m) continue;
    const pid = ownerOf(m[1]!, '_');
    if (pid !== null) out.push({ group: m[1]!, name: m[2]!, pid });
  }
  return out;
}

/** The names of the uprobe events defined now by the agent with this pid (this process by default). */
export function ourEvents(pid = process.pid): string[] {
  return periscopeEvents()
    .filter((e) => e.pid === pid)
    .map((e) => e.name);
}

/** Whether a process with this pid runs (EPERM: it does, as another user's). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes to a tracefs control file, ignoring one that is gone. */
function control(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch {
    // not there (the event or instance is already gone)
  }
}

/** Whether the group or instance of this owner is to be removed: ours, the legacy one, or a dead agent's. */
function stale(pid: number | undefined): boolean {
  return pid === undefined || pid === process.pid || !running(pid);
}

/**
 * Disables and removes this process's events and instance, and those that agents no longer
 * running left (and the legacy group); a running agent's are left alone. Returns how many
 * events this call removed. Another agent starting or stopping at the same time removes a dead
 * agent's events too: one already gone is not counted and is no error, and an event the kernel
 * refuses to remove does not keep the others in place (the refusals are thrown after).
 */
export function cleanTracefs(): number {
  const events = periscopeEvents().filter((e) => stale(e.pid));
  let instances: string[] = [];
  try {
    instances = readdirSync(join(TRACEFS, 'instances')).filter((d) => {
      const pid = ownerOf(d, '-');
      return pid !== null && stale(pid);
    });
  } catch {
    // no instances directory: nothing of ours there
  }
  for (const d of instances) {
    const inst = join(TRACEFS, 'instances', d);
    control(join(inst, 'tracing_on'), '0');
    for (const e of events) control(join(inst, 'events', e.group, e.name, 'enable'), '0');
    try {
      rmdirSync(inst);
    } catch {
      // busy (a reader still has trace_pipe open): the events below are removed anyway once disabled
    }
  }
  let removed = 0;
  const refused: string[] = [];
  for (const e of events) {
    control(join(TRACEFS, 'events', e.group, e.name, 'enable'), '0');
    try {
      writeFileSync(join(TRACEFS, 'uprobe_events'), `-:${e.group}/${e.name}\n`, { flag: 'a' });
      removed++;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') refused.push(`${e.group}/${e.name} (${code ?? err})`);
    }
  }
  if (refused.length > 0)
    throw new PeriscopeError(
      'unsupported',
      `tracefs refused to remove ${refused.join(', ')}; removed ${removed} other event(s)`,
    );
  return removed;
}

/** Why tracefs uprobes cannot be used here, or undefined when they can. */
export function tracefsProblem(): string | undefined {
  const path = join(TRACEFS, 'uprobe_events');
  if (!existsSync(path))
    return `${path} does not exist (mount it: mount -t tracefs nodev /sys/kernel/tracing)`;
  try {
    writeFileSync(path, '', { flag: 'a' });
  } catch (e) {
    return `${path} is not writable (${(e as NodeJS.ErrnoException).code}): run as root`;
  }
  return undefined;
}

/** The events of the group of the agent with this pid in its instance (for tests). */
export function instanceEvents(pid = process.pid): string[] {
  try {
    return readdirSync(join(instanceDir(pid), 'events', groupOf(pid)));
  } catch {
    return [];
  }
}
