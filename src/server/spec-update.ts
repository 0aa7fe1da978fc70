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
import type { SetSpecResult } from '../store/store.js';
import type { ServerContext } from './context.js';
import { buildReport, reportSummary, reportText } from './spec-report.js';

/** A spec to set: its text, the file name the user gave, who sets it, and whether to force it. */
export interface SpecUpdate {
  readonly yaml: string;
  readonly source: string;
  readonly author: string;
  readonly force: boolean;
}

/** The outcome: stored (with the check's report), or refused with the report. */
export type SpecUpdateOutcome =
  | { readonly stored: true; readonly result: SetSpecResult & { readonly check: SpecCheckReport } }
  | { readonly stored: false; readonly message: string; readonly check: SpecCheckReport };

/** Checks a spec against the stored tables and the fleet's binaries, storing nothing (also `POST /v1/spec/check`). */
export async function checkSpecText(
  ctx: ServerContext,
  yaml: string,
  source: string,
): Promise<SpecCheckReport> {
  const user = parseSpec(yaml, source);
  const sql = await ctx.store.checkSpec(yaml, source);
  const stored = await ctx.store.storedBinaries();
  const answers = await ctx.specChecks.ask(yaml, source, stored);
  return buildReport(source, answers, stored, sql, user.functions, ctx.specChecks.waitMs);
}

/** The check's problems as text (what a refusal says), or undefined when it fits. */
export function checkMessage(check: SpecCheckReport): string | undefined {
  return check.fits ? undefined : reportText(check, `${check.source}: ${reportSummary(check)}:`);
}

/** Checks a spec against the stored tables and the fleet's binaries, then stores it or refuses it. */
export async function updateSpec(ctx: ServerContext, u: SpecUpdate): Promise<SpecUpdateOutcome> {
  const check = await checkSpecText(ctx, u.yaml, u.source);
  const current = await ctx.store.currentSpec();
  if (!check.fits && !u.force && current?.yaml !== u.yaml) {
    const headline = `${u.source} was not stored: ${reportSummary(check)}. Fix it, or store it anyway with --force (PUT /v1/spec?force=true):`;
    return { stored: false, message: reportText(check, headline), check };
  }
  const result = await ctx.store.setSpec(u.yaml, u.author, u.source, { force: true });
  if (result.changed)
    for (const conn of ctx.registry.connections())
      conn.send({ type: 'spec', specVersion: result.version, spec: u.yaml });
  return { stored: true, result: { ...result, check } };
}
