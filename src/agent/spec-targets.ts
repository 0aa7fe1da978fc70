/**
 * What a `check-spec` checks on this agent: one process of each distinct binary it monitors,
 * then each stored snapshot's binary the server named that is not among them (looked for by
 * build ID, in the capture thread's cache or at the path it ran from).
 */

import type { BinaryCheck, ProcessDescription, StoredBinaryRef } from '../protocol/messages.js';
import type { Spec } from '../spec/spec-types.js';
import { specProbes } from '../spec/trace-probes.js';
import { compilePrograms, matchPrograms } from './labels.js';
import type { CheckTarget } from './worker-protocol.js';

/** Stored snapshots' binaries one `check-spec` may ask about. */
const MAX_STORED = 256;

/** The binaries to check: running ones first (with every process key), then stored ones. */
export function checkTargets(
  processes: readonly ProcessDescription[],
  stored: readonly StoredBinaryRef[] | undefined,
  probesOf: (p: ProcessDescription) => readonly string[] = () => [],
): CheckTarget[] {
  const targets = new Map<string, CheckTarget & { processes: string[]; probes: string[] }>();
  for (const p of processes) {
    const id = p.buildId ?? p.executable;
    const t = targets.get(id);
    const probes = probesOf(p);
    if (t) {
      t.processes.push(p.key);
      for (const n of probes) if (!t.probes.includes(n)) t.probes.push(n);
    } else
      targets.set(id, {
        pid: p.pid,
        ...(p.buildId ? { buildId: p.buildId } : {}),
        executable: p.executable,
        ...(p.goVersion ? { goVersion: p.goVersion } : {}),
        processes: [p.key],
        probes: [...probes],
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
      probes: [],
    });
  }
  return [...targets.values()].map(({ probes, ...t }) => (probes.length > 0 ? { ...t, probes } : t));
}

/**
 * Which of a spec's probes (its traces' included) go to a process, by the spec's own program rules (the process's
 * labels against them: the spec being checked may define programs anew) or the probe's.
 */
export function probeSelector(spec: Spec): (p: ProcessDescription) => string[] {
  const probes = specProbes(spec);
  if (probes.length === 0) return () => [];
  const programs = compilePrograms(spec.programs);
  return (p) => {
    const mine = matchPrograms(p.labels, programs);
    return probes
      .filter((x) =>
        x.program !== undefined
          ? mine.includes(x.program)
          : x.match !== undefined &&
            matchPrograms(p.labels, compilePrograms([{ name: x.name, match: x.match }])).length > 0,
      )
      .map((x) => x.name);
  };
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
