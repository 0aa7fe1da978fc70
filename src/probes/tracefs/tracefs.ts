/**
 * Periscope's own corner of tracefs (PLATFORM.md): uprobe events in the group `periscope`,
 * enabled only in the instance `periscope`. tracefs probes are not tied to a file descriptor:
 * they survive their maker (and keep costing every hit), so whoever starts cleans what a
 * crashed predecessor left — only this group and this instance, never anyone else's.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PeriscopeError } from '../../common/errors.js';

/** Where tracefs is mounted. */
export const TRACEFS = existsSync('/sys/kernel/tracing/uprobe_events')
  ? '/sys/kernel/tracing'
  : '/sys/kernel/debug/tracing';
/** The group of Periscope's uprobe events. */
export const GROUP = 'periscope';
/** The tracing instance where they are enabled and read. */
export const INSTANCE = 'periscope';

/** The instance's directory. */
export function instanceDir(): string {
  return join(TRACEFS, 'instances', INSTANCE);
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

/** The names of Periscope's uprobe events defined now. */
export function ourEvents(): string[] {
  let text: string;
  try {
    text = readFileSync(join(TRACEFS, 'uprobe_events'), 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^[pr]:([^/\s]+)\/(\S+)/.exec(line);
    if (m?.[1] === GROUP) out.push(m[2]!);
  }
  return out;
}

/** Writes to a tracefs control file, ignoring one that is gone. */
function control(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch {
    // not there (the event or instance is already gone)
  }
}

/** Disables and removes Periscope's events and instance; returns how many events there were. */
export function cleanTracefs(): number {
  const events = ourEvents();
  const inst = instanceDir();
  if (existsSync(inst)) {
    control(join(inst, 'tracing_on'), '0');
    for (const e of events) control(join(inst, 'events', GROUP, e, 'enable'), '0');
    try {
      rmdirSync(inst);
    } catch {
      // busy (a reader still has trace_pipe open): the events below are removed anyway once disabled
    }
  }
  for (const e of events) {
    control(join(TRACEFS, 'events', GROUP, e, 'enable'), '0');
    writeUprobeEvents(`-:${GROUP}/${e}`);
  }
  return events.length;
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

/** The instance's events of Periscope's group (for tests). */
export function instanceEvents(): string[] {
  try {
    return readdirSync(join(instanceDir(), 'events', GROUP));
  } catch {
    return [];
  }
}
