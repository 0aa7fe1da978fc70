/**
 * Go release versions as the toolchain spells them ("go1.24.13", "go1.21rc2",
 * "devel go1.27-abcdef Tue ...", "go1.24.0 X:boringcrypto"), parsed into numbers so later
 * layers can pick the runtime layout of a release.
 */
import { PeriscopeError } from '../common/errors.js';

/** A parsed Go release. `pre` is "rc2"/"beta1" for pre-releases, "" for releases. */
export interface GoVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly pre: string;
  /** A development build ("devel go1.27-..."): newer than any release of the same minor. */
  readonly devel: boolean;
  /** The text it was parsed from. */
  readonly raw: string;
}

const VERSION_RE = /go(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:rc|beta)\d+)?/;

/** Parses a Go version string; undefined when it names no Go release. */
export function tryParseGoVersion(text: string): GoVersion | undefined {
  const m = VERSION_RE.exec(text);
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2] ?? 0),
    patch: Number(m[3] ?? 0),
    pre: m[4] ?? '',
    devel: text.trimStart().startsWith('devel'),
    raw: text,
  };
}

/** Parses a Go version string such as "go1.24.13"; throws a PeriscopeError if it is not one. */
export function parseGoVersion(text: string): GoVersion {
  const v = tryParseGoVersion(text);
  if (!v) throw new PeriscopeError('unsupported', `"${text}" is not a Go version (expected e.g. go1.24.13)`);
  return v;
}

/** Orders two versions: negative if a is older than b, 0 if the same release, positive if newer. */
export function compareGoVersions(a: GoVersion, b: GoVersion): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.devel !== b.devel) return a.devel ? 1 : -1;
  if (a.patch !== b.patch) return a.patch - b.patch;
  return comparePre(a.pre, b.pre);
}

/** Whether v is at least major.minor.patch (pre-releases of that version count as older). */
export function goVersionAtLeast(v: GoVersion, major: number, minor: number, patch = 0): boolean {
  return compareGoVersions(v, { major, minor, patch, pre: '', devel: false, raw: '' }) >= 0;
}

/** Formats a version as the toolchain would ("go1.24.13", "go1.21rc2"). */
export function formatGoVersion(v: GoVersion): string {
  if (v.pre) return `go${v.major}.${v.minor}${v.pre}`;
  return `go${v.major}.${v.minor}.${v.patch}`;
}

function comparePre(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return 1; // a release is newer than its pre-releases
  if (b === '') return -1;
  const ka = preKey(a);
  const kb = preKey(b);
  return ka[0] !== kb[0] ? ka[0] - kb[0] : ka[1] - kb[1];
}

function preKey(pre: string): [number, number] {
  const n = Number(pre.replace(/^\D+/, ''));
  return [pre.startsWith('beta') ? 0 : 1, n];
}
