/**
 * The flags of `periscope investigation add` (and its `--file`, YAML or JSON with the API's
 * keys) as one investigation definition: the file first, each flag adding to it or replacing
 * what the file says. The API's parser checks the result (api/investigations.ts).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { InvestigationBody, TriggerBody } from '../../api/investigations.js';
import { PeriscopeError } from '../../common/errors.js';

/** What the flags say, as given. */
export interface InvestigationFlags {
  readonly file?: string | undefined;
  readonly question?: string | undefined;
  readonly notes?: string | undefined;
  readonly every?: string | undefined;
  readonly select?: string | undefined;
  readonly keep?: string | undefined;
  readonly keepFor?: string | undefined;
  readonly when: readonly string[];
  readonly probe?: string | undefined;
  readonly where?: string | undefined;
  readonly slowOver?: string | undefined;
  readonly onError: boolean;
  readonly trace?: string | undefined;
  readonly snapshot?: string | undefined;
  readonly report: readonly string[];
  readonly webhook?: string | undefined;
  readonly maxFires?: string | undefined;
  readonly minInterval?: string | undefined;
  readonly until?: string | undefined;
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PeriscopeError('not-found', `cannot read ${path}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = parse(text);
  } catch (e) {
    throw new PeriscopeError(
      'bad-usage',
      `${path} is not YAML or JSON: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new PeriscopeError(
      'bad-usage',
      `${path} must hold one investigation (its keys: name, triggers, …)`,
    );
  return v as Record<string, unknown>;
}

function int(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text))
    throw new PeriscopeError('bad-usage', `${flag} must be a whole number, not "${text}"`);
  return Number(text);
}

/** The definition the file and flags make, named `name` (the file's name when not given). */
export function investigationFields(name: string | undefined, f: InvestigationFlags): InvestigationBody {
  const base = f.file ? readFile(f.file) : {};
  const triggers = [...((base.triggers as TriggerBody[] | undefined) ?? [])];
  if (f.every !== undefined) {
    const keep = int(f.keep, '--keep');
    triggers.push({
      schedule: {
        every: f.every,
        ...(f.select !== undefined ? { select: f.select } : {}),
        ...(keep !== undefined ? { keep } : {}),
        ...(f.keepFor !== undefined ? { keepFor: f.keepFor } : {}),
      },
    });
  } else if (f.select !== undefined || f.keep !== undefined || f.keepFor !== undefined)
    throw new PeriscopeError('bad-usage', '--select, --keep and --keep-for go with --every (the schedule)');
  for (const sql of f.when) triggers.push({ sql });
  if (f.probe !== undefined)
    triggers.push({ probe: { name: f.probe, ...(f.where ? { where: f.where } : {}) } });
  else if (f.where !== undefined) throw new PeriscopeError('bad-usage', '--where goes with --probe NAME');
  if (f.slowOver !== undefined)
    triggers.push({ slow: { over: f.slowOver, ...(f.trace ? { trace: f.trace } : {}) } });
  if (f.onError) triggers.push({ error: f.trace ? { trace: f.trace } : {} });
  const report = [...((base.report as { name: string; sql: string }[] | undefined) ?? [])];
  for (const r of f.report) {
    const i = r.indexOf('=');
    if (i < 1) throw new PeriscopeError('bad-usage', `--report takes NAME=SQL, not "${r}"`);
    report.push({ name: r.slice(0, i).trim(), sql: r.slice(i + 1) });
  }
  const snapshot =
    f.snapshot === undefined
      ? base.snapshot
      : f.snapshot === 'process' || f.snapshot === 'program' || f.snapshot === 'none'
        ? f.snapshot
        : { select: f.snapshot };
  const limits = { ...((base.limits as Record<string, unknown> | undefined) ?? {}) };
  const maxFires = int(f.maxFires, '--max-fires');
  if (maxFires !== undefined) limits.maxFires = maxFires;
  if (f.minInterval !== undefined) limits.minInterval = f.minInterval;
  if (f.until !== undefined) limits.until = f.until;
  const finalName = name ?? (typeof base.name === 'string' ? base.name : undefined);
  if (finalName === undefined)
    throw new PeriscopeError(
      'bad-usage',
      'give the name: periscope investigation add NAME (or name: in --file)',
    );
  return {
    ...base,
    name: finalName,
    ...(f.question !== undefined ? { question: f.question } : {}),
    ...(f.notes !== undefined ? { notes: f.notes } : {}),
    triggers,
    ...(snapshot !== undefined ? { snapshot: snapshot as InvestigationBody['snapshot'] } : {}),
    ...(report.length > 0 ? { report } : {}),
    ...(f.webhook !== undefined
      ? { webhook: { ...((base.webhook as object | undefined) ?? {}), url: f.webhook } }
      : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  } as InvestigationBody;
}
