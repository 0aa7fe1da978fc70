/**
 * What `PUT /v1/spec` does: a new spec is checked before it becomes current, against the
 * stored tables (its derived tables and links must build) and against every binary the
 * server knows (each connected agent checks its processes' binaries and the stored
 * snapshots' binaries it still has). A spec that does not fit is refused with every problem
 * at its line and column of the user's file, unless forced; then it is stored and the report
 * says per binary what does not fit. Stored, it goes to every agent.
 */

import type { SpecCheckReport } from '../api/responses.js';
import { parseSpec } from '../spec/spec-parse.js';
import type { Spec } from '../spec/spec-types.js';
import type { SetSpecResult } from '../store/store.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-errors.js';
import { droppedDependencyWarnings } from './investigations/investigations.js';
import { buildReport, reportSummary, reportText } from './spec-report.js';

/** A spec to set: its text, the file name the user gave, who sets it, and whether to force it. */
export interface SpecUpdate {
  readonly yaml: string;
  readonly source: string;
  readonly author: string;
  /** The author's token is an admin's: only then may the spec change where redaction is off. */
  readonly admin: boolean;
  readonly force: boolean;
}

/** The outcome: stored (with the check's report), or refused with the report. */
export type SpecUpdateOutcome =
  | { readonly stored: true; readonly result: SetSpecResult & { readonly check: SpecCheckReport } }
  | { readonly stored: false; readonly message: string; readonly check: SpecCheckReport };

/**
 * Checks a spec against the stored tables and the fleet's binaries, storing nothing (also
 * `POST /v1/spec/check`); a non-admin's spec that turns redaction off is refused first, as a
 * PUT would refuse it.
 */
export async function checkSpecText(
  ctx: ServerContext,
  yaml: string,
  source: string,
  admin: boolean,
): Promise<SpecCheckReport> {
  const user = parseSpec(yaml, source);
  if (!admin) {
    const current = await ctx.store.currentSpec();
    refuseRedactionChange(user, current === undefined ? undefined : parseSpec(current.yaml, 'current'));
  }
  const sql = await ctx.store.checkSpec(yaml, source);
  const stored = await ctx.store.storedBinaries();
  const answers = await ctx.specChecks.ask(yaml, source, stored);
  return buildReport(source, answers, stored, sql, user.functions, ctx.specChecks.waitMs);
}

/** The check's problems as text (what a refusal says), or undefined when it fits. */
export function checkMessage(check: SpecCheckReport): string | undefined {
  return check.fits ? undefined : reportText(check, `${check.source}: ${reportSummary(check)}:`);
}

/** Sends a spec version and the probe orders it makes to every connected agent. */
export async function pushSpec(ctx: ServerContext, version: number, yaml: string): Promise<void> {
  const probes = await ctx.probeOrders.message();
  for (const conn of ctx.registry.connections()) {
    conn.send({ type: 'spec', specVersion: version, spec: yaml });
    conn.send(probes);
  }
}

/** Checks a spec against the stored tables and the fleet's binaries, then stores it or refuses it. */
export async function updateSpec(ctx: ServerContext, u: SpecUpdate): Promise<SpecUpdateOutcome> {
  const check = await checkSpecText(ctx, u.yaml, u.source, u.admin);
  const current = await ctx.store.currentSpec();
  if (!check.fits && !u.force && current?.yaml !== u.yaml) {
    const headline = `${u.source} was not stored: ${reportSummary(check)}. Fix it, or store it anyway with --force (PUT /v1/spec?force=true):`;
    return { stored: false, message: reportText(check, headline), check };
  }
  const result = await ctx.store.setSpec(u.yaml, u.author, u.source, { force: true });
  if (result.changed)
    await ctx.orchestrator.specStored(result.version, () => pushSpec(ctx, result.version, u.yaml));
  // Stored all the same: an investigation on a dropped trace or probe waits for a spec that has it again.
  const dropped = await droppedDependencyWarnings(ctx.store, u.yaml, result.version);
  return { stored: true, result: { ...result, warnings: [...result.warnings, ...dropped], check } };
}

/** The programs a spec turns redaction off for, as a sorted set. */
function redactionOff(spec: Spec | undefined): string[] {
  return [...new Set(spec?.redaction?.off ?? [])].sort();
}

/**
 * Refuses (403) a spec from a non-admin that turns redaction off anywhere it is on now: a
 * program (or `*`) in its `redaction.off` that the current spec's lacks. Removing one, and
 * adding names or types, only redacts more: anyone may.
 */
function refuseRedactionChange(next: Spec, current: Spec | undefined): void {
  const have = redactionOff(current);
  const added = redactionOff(next).filter((p) => !have.includes(p));
  if (added.length === 0) return;
  throw new HttpError(
    403,
    'forbidden',
    `only an admin token may turn redaction off: this spec's redaction.off adds ${added.map((p) => JSON.stringify(p)).join(', ')}; remove it, or ask an admin to store this spec`,
  );
}
