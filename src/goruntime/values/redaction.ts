/**
 * Which values are secret and what takes their place: names (struct fields, variables, string
 * map keys) and named types that look secret are replaced by a redaction mark while values
 * are decoded, so their bytes never leave the process that read the target's memory. The
 * default lists are here; a spec adds to them (`redaction:`, docs/spec.md), and the surfaces
 * decide when redaction is off (docs/security.md). The mark's shape is in docs/values.md.
 */
import type { GoValue } from './walk.js';

/**
 * Name patterns redacted by default. A name matches a pattern when, both lowercased with
 * everything but letters and digits removed, the name contains the pattern: `apiToken`,
 * `API_KEY`, `X-Api-Key`, `Set-Cookie` and `dbPassword` all match.
 */
export const DEFAULT_SECRET_NAMES: readonly string[] = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'api_key',
  'access_key',
  'private_key',
  'authorization',
  'bearer',
  'cookie',
  'credential',
  'jwt',
];

/** Types redacted by default (Go's spelling, as DWARF names them): private keys. */
export const DEFAULT_SECRET_TYPES: readonly string[] = [
  'crypto/rsa.PrivateKey',
  'crypto/ecdsa.PrivateKey',
  'crypto/ed25519.PrivateKey',
  'crypto/ecdh.PrivateKey',
];

/** The rules a spec adds to the defaults. */
export interface RedactionRules {
  /** Name patterns (matched like the defaults). */
  readonly names?: readonly string[];
  /** Go type names, exactly (e.g. `crypto/tls.Certificate`, `main.Secret`). */
  readonly types?: readonly string[];
}

/** Names remembered per Redactor; past this, names are matched without being remembered. */
const MEMO_LIMIT = 4096;

function normalized(name: string): string {
  return name.toLowerCase().replace(/[^\p{L}\p{Nd}]+/gu, '');
}

/** Compiled redaction rules: the defaults plus a spec's. Cheap enough to consult inside a pause. */
export class Redactor {
  private readonly patterns: readonly { readonly norm: string; readonly rule: string }[];
  private readonly types: ReadonlyMap<string, string>;
  private readonly memo = new Map<string, string | null>();

  constructor(rules: RedactionRules = {}) {
    const names = [...DEFAULT_SECRET_NAMES, ...(rules.names ?? [])];
    this.patterns = names.map((rule) => ({ norm: normalized(rule), rule })).filter((p) => p.norm !== '');
    this.types = new Map([...DEFAULT_SECRET_TYPES, ...(rules.types ?? [])].map((t) => [t, t]));
  }

  /** The rule a name (field, variable, string map key) matches, or undefined. */
  byName(name: string): string | undefined {
    const hit = this.memo.get(name);
    if (hit !== undefined) return hit ?? undefined;
    const norm = normalized(name);
    const rule = this.patterns.find((p) => norm.includes(p.norm))?.rule;
    if (this.memo.size < MEMO_LIMIT) this.memo.set(name, rule ?? null);
    return rule;
  }

  /** The rule a Go type name matches (exactly), or undefined. */
  byType(typeName: string): string | undefined {
    return this.types.get(typeName);
  }
}

/** The mark that replaces a value matched by `rule`. */
export function redactedMark(rule: string, type?: string): GoValue {
  return type === undefined ? { '…': 'redacted', rule } : { '…': 'redacted', rule, type };
}

/** Whether a decoded value is a redaction mark. */
export function isRedacted(v: GoValue | undefined): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && v['…'] === 'redacted';
}

/**
 * The text that replaces a pprof label's value whose key matches `rule` (labels are strings,
 * so the mark is its JSON text: `{"…":"redacted","rule":"token"}`).
 */
export function redactedLabelValue(rule: string): string {
  return JSON.stringify(redactedMark(rule));
}

/** pprof labels with the values of secret-looking keys replaced (as they are without a redactor). */
export function redactLabels(
  labels: readonly (readonly [string, string])[],
  redactor: Redactor | undefined,
): (readonly [string, string])[] {
  if (!redactor) return [...labels];
  return labels.map(([k, v]) => {
    const rule = redactor.byName(k);
    return rule === undefined ? [k, v] : [k, redactedLabelValue(rule)];
  });
}
