/**
 * Reading option values into typed ones, with the one message per mistake: text, flags, lists,
 * positive integers, choices, `--label KEY=VALUE`, `--snapshot ID | --all`, `--format`.
 */
import { labelsField } from '../api/fields.js';
import { PeriscopeError } from '../common/errors.js';
import { RESULT_FORMATS, type ResultFormat } from '../store/result-format.js';
import type { QueryScope } from '../store/store.js';
import type { OptionValues } from './argv.js';

function usageError(message: string): PeriscopeError {
  return new PeriscopeError('bad-usage', message);
}

/** A text option (undefined when not given). */
export function textOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A flag. */
export function flagOption(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

/** Every value of a repeatable text option, in order. */
export function listOption(values: OptionValues, name: string): string[] {
  const v = values[name];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.filter((x): x is string => typeof x === 'string');
}

/** A positive integer option (undefined when not given). */
export function positiveIntOption(values: OptionValues, name: string, what: string): number | undefined {
  const text = textOption(values, name);
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw usageError(`--${name} takes ${what} (a positive integer), not "${text}"`);
  return Number(text);
}

/** --pause-cap-ms: the hard cap of a pause, 1 to 10000 ms (undefined: the default, 100). */
export function pauseCapOption(values: OptionValues): number | undefined {
  const ms = positiveIntOption(values, 'pause-cap-ms', 'milliseconds');
  if (ms !== undefined && ms > 10_000) throw usageError('--pause-cap-ms wants milliseconds from 1 to 10000');
  return ms;
}

/** An option with a fixed set of values. */
export function choiceOption<T extends string>(
  values: OptionValues,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const text = textOption(values, name) ?? fallback;
  if (!(choices as readonly string[]).includes(text))
    throw usageError(`--${name} is one of ${choices.join(', ')}, not "${text}"`);
  return text as T;
}

/**
 * Every `--label KEY=VALUE`, as a map: the key is trimmed (spaces around it are never meant), the
 * value kept as given; the names must be what the server accepts.
 */
export function labelOptions(values: OptionValues, name = 'label'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of listOption(values, name)) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? '' : item.slice(0, eq).trim();
    if (key === '') throw usageError(`--${name} takes KEY=VALUE, not "${item}" (e.g. --${name} incident=42)`);
    out[key] = item.slice(eq + 1);
  }
  try {
    return labelsField(out, name);
  } catch (e) {
    throw usageError(`--${name}: ${(e as Error).message}`);
  }
}

/** `--snapshot ID` (undefined when not given). */
export function snapshotIdOption(values: OptionValues, name = 'snapshot'): number | undefined {
  return positiveIntOption(values, name, 'a snapshot id');
}

/** The snapshots a query sees: `--snapshot ID`, `--all`, else the latest. */
export function scopeOption(values: OptionValues): QueryScope {
  const id = snapshotIdOption(values);
  const all = flagOption(values, 'all');
  if (id !== undefined && all) throw usageError('give --snapshot ID or --all, not both');
  if (id !== undefined) return { snapshot: id };
  return all ? { all: true } : { latest: true };
}

/** `--format table|json|csv` of query results (default table). */
export function formatOption(values: OptionValues): ResultFormat {
  return choiceOption(values, 'format', RESULT_FORMATS, 'table');
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** A duration option like `90s`, `45m`, `12h`, `30d`, `2w`, in seconds (undefined when not given). */
export function durationOption(values: OptionValues, name: string): number | undefined {
  const text = textOption(values, name);
  if (text === undefined) return undefined;
  const m = /^(\d{1,9})([smhdw])$/.exec(text.trim());
  if (!m) throw usageError(`--${name} takes a duration like 90s, 45m, 12h, 30d or 2w, not "${text}"`);
  return Number(m[1]) * (DURATION_UNITS[m[2] ?? 's'] ?? 1);
}

/** An expiry option: a duration from now (`30d`) or an ISO time; returned as an ISO time. */
export function expiryOption(values: OptionValues, name: string, now = Date.now()): string | undefined {
  const text = textOption(values, name);
  if (text === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (Number.isNaN(t)) throw usageError(`--${name} "${text}" is not a valid ISO time`);
    return new Date(t).toISOString();
  }
  const seconds = durationOption(values, name) ?? 0;
  return new Date(now + seconds * 1000).toISOString();
}

/** Splits `HOST:PORT` (or `:PORT`, `PORT`, `[v6]:PORT`; the host defaults to 127.0.0.1) given to `flag`. */
export function parseListen(text: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535)
    throw usageError(`${flag} "${text}" is not HOST:PORT (e.g. 127.0.0.1:7070 or 0.0.0.0:7070)`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}
