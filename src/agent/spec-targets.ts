/**
 * What a `check-spec` checks on this agent: one process of each distinct binary it monitors,
 * then each stored snapshot's binary the server named that is not among them (looked for by
 * build ID, in the capture thread's cache or at the path it ran from).
 */
import type { BinaryCheck, ProcessDescription, StoredBinaryRef } from '../protocol/messages.js';
import type { CheckTarget } from './worker-protocol.js';

/** Stored snapshots' binaries one `check-spec` may ask about. */
const MAX_STORED = 256;

/** The binaries to check: running ones first (with every process key), then stored ones. */
export function checkTargets(
  processes: readonly ProcessDescription[],
  stored: readonly StoredBinaryRef[] | undefined,
): CheckTarget[] {
  const targets = new Map<string, CheckTarget & { processes: string[] }>();
  for (const p of processes) {
    const id = p.buildId ?? p.executable;
    const t = targets.get(id);
    if (t) t.processes.push(p.key);
    else
      targets.set(id, {
        pid: p.pid,
        ...(p.buildId ? { buildId: p.buildId } : {}),
        executable: p.executable,
        ...(p.goVersion ? { goVersion: p.goVersion } : {}),
        processes: [p.key],
      });
  }
  for (const s of (Array.isArray(stored) ? stored : []).slice(0, MAX_STORED)) {
    if (typeof s?.buildId !== 'string' || typeof s.executable !== 'string' || targets.has(s.buildId))
      continue;
    targets.set(s.buildId, {
      path: s.executable,
      buildId: s.buildId,
      executable: s.executable,
      processes: [],
    });
  }
  return [...targets.values()];
}

/** Every target as not checked, with why (the capture thread failed or ran out of time). */
export function notChecked(targets: readonly CheckTarget[], why: string): BinaryCheck[] {
  return targets.map((t) => ({
    ...(t.buildId ? { buildId: t.buildId } : {}),
    executable: t.executable,
    processes: t.processes,
    problems: [],
    functionsAbsent: [],
    notChecked: why,
  }));
}
