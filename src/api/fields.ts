/**
 * Checking the fields of a request: JSON body fields and query parameters, each with an error
 * that names the field and says what it must be. The server answers these errors with 400
 * `bad-request`; the CLI, which runs the same checks before sending, exits 2.
 */
import { PeriscopeError } from '../common/errors.js';

/** A malformed request: which field is wrong and what it must be. */
export class BadRequest extends PeriscopeError {
  constructor(message: string) {
    super('bad-usage', message);
    this.name = 'BadRequest';
  }
}

/** A JSON object body (fields by name). */
export type JsonObject = Readonly<Record<string, unknown>>;

/** The body as a JSON object; anything else (array, string, null) is refused. */
export function jsonObject(v: unknown): JsonObject {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new BadRequest('the request body must be a JSON object');
  return v as JsonObject;
}

/** A string field (undefined when absent or null). */
export function optString(body: JsonObject, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new BadRequest(`"${name}" must be a string`);
  return v;
}

/** A boolean field (false when absent or null). */
export function optBool(body: JsonObject, name: string): boolean {
  const v = body[name];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new BadRequest(`"${name}" must be true or false`);
  return v;
}

/** Whether a value is a positive integer that a JSON number or an id text holds exactly. */
function isId(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1;
}

/** A positive integer field (undefined when absent or null). */
export function optPositiveInt(body: JsonObject, name: string, what: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !isId(v)) throw new BadRequest(`"${name}" must be a positive integer ${what}`);
  return v;
}

/** A positive integer given as text (a path segment or query parameter). */
export function positiveIntText(text: string | null | undefined, what: string): number {
  const n = text && /^[1-9]\d{0,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!isId(n)) throw new BadRequest(`${what} "${text ?? ''}" is not a positive integer`);
  return n;
}

/** Longest label name accepted. */
export const MAX_LABEL_NAME = 200;

/**
 * Labels: an object of names (1 to 200 characters) to values; numbers and booleans become their
 * text. Absent or null is no labels.
 */
export function labelsField(v: unknown, name = 'labels'): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new BadRequest(`"${name}" must be an object of label names to strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean')
      throw new BadRequest(`"${name}.${k}" must be a string`);
    if (k === '' || k.length > MAX_LABEL_NAME)
      throw new BadRequest(`label names must be 1 to ${MAX_LABEL_NAME} characters`);
    out[k] = String(x);
  }
  return out;
}
