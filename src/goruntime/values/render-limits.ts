/**
 * How much of a value to render, and the markers that say where something was cut. Every
 * marker is a JSON object whose member "…" (U+2026) is a string naming the kind of cut; no
 * decoded Go value has that shape (maps whose keys include "…" are rendered in the array
 * form), so a consumer can tell a cut from a value with one test. See docs/values.md.
 */
import { hex } from '../../common/address.js';

/** User-settable limits on one rendered value. */
export interface RenderLimits {
  /** Bytes of a string rendered before it is cut. */
  readonly maxString: number;
  /** Elements of an array, slice, map or channel buffer rendered before the rest is cut. */
  readonly maxElements: number;
  /** Nesting levels (pointers, structs, arrays, maps, interfaces) followed before a depth marker. */
  readonly maxDepth: number;
}

/** The defaults: 512 bytes of a string, 64 elements, 4 levels. */
export const DEFAULT_LIMITS: RenderLimits = { maxString: 512, maxElements: 64, maxDepth: 4 };

/** Hard ceilings on walks through target memory, whatever the user asked for. */
export const HARD_LIMITS = {
  /** Entries visited in one map walk (counting empty slots), so a corrupt map cannot loop. */
  mapSlots: 1 << 22,
  /** Overflow buckets followed from one classic bucket. */
  overflowChain: 1 << 16,
  /** Bytes read for one string. */
  stringBytes: 1 << 20,
  /** Elements read from one array or slice. */
  elements: 1 << 16,
  /** Links followed in a chain (context parents, error wraps). */
  chain: 256,
};

/** Fills in defaults for the limits a user left out and clamps the others to sane ranges. */
export function renderLimits(partial: Partial<RenderLimits> = {}): RenderLimits {
  const clamp = (v: number | undefined, d: number, max: number) =>
    v === undefined || !Number.isFinite(v) ? d : Math.max(0, Math.min(max, Math.floor(v)));
  return {
    maxString: clamp(partial.maxString, DEFAULT_LIMITS.maxString, HARD_LIMITS.stringBytes),
    maxElements: clamp(partial.maxElements, DEFAULT_LIMITS.maxElements, HARD_LIMITS.elements),
    maxDepth: clamp(partial.maxDepth, DEFAULT_LIMITS.maxDepth, 64),
  };
}

/** Key of every marker object. */
export const MARK = '…';

/** A cut or unreadable place in a rendered value. */
export type Marker =
  | { readonly [MARK]: 'truncated'; readonly len: number; readonly shown: number; readonly cap?: number }
  | { readonly [MARK]: 'truncated'; readonly string: string; readonly len: number }
  | { readonly [MARK]: 'depth'; readonly type: string; readonly address?: string }
  | { readonly [MARK]: 'cycle'; readonly type: string; readonly address: string }
  | {
      readonly [MARK]: 'unreadable';
      readonly type: string;
      readonly address?: string;
      readonly error: string;
    };

/** Marker appended to a list (array, slice, map, channel buffer) that shows `shown` of `len` items. */
export function moreElements(len: number, shown: number, cap?: number): Marker {
  return cap === undefined ? { [MARK]: 'truncated', len, shown } : { [MARK]: 'truncated', len, shown, cap };
}

/** A string cut after limits.maxString bytes: the prefix and the full length in bytes. */
export function cutString(prefix: string, len: number): Marker {
  return { [MARK]: 'truncated', string: prefix, len };
}

/** A value not rendered because it is nested deeper than limits.maxDepth. */
export function tooDeep(type: string, address?: number): Marker {
  return address === undefined ? { [MARK]: 'depth', type } : { [MARK]: 'depth', type, address: hex(address) };
}

/** A pointer back to a value already being rendered on the current path. */
export function cycle(type: string, address: number): Marker {
  return { [MARK]: 'cycle', type, address: hex(address) };
}

/** A value whose memory could not be read or made sense of. */
export function unreadable(type: string, error: string, address?: number): Marker {
  return address === undefined
    ? { [MARK]: 'unreadable', type, error }
    : { [MARK]: 'unreadable', type, address: hex(address), error };
}

/**
 * Whether a rendered value is a marker: an object whose "…" member is a string. (A cut map
 * rendered as an object also has a "…" member, but its value is itself a marker object.)
 */
export function isMarker(v: unknown): v is Marker {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as Record<string, unknown>)[MARK] === 'string'
  );
}
