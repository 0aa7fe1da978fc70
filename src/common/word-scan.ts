/**
 * Finding 8-byte words whose value lies in a range, in memory a WebAssembly SIMD loop reads
 * in place. The pause's scan of the copied stacks for return addresses into the spec's
 * functions (goroutines/frame-hosts.ts) read every stack word in JavaScript, about 2 ns a
 * word: 1.3–2 ms of a 10k-goroutine pause (5 MB of stacks) spent finding, usually, nothing.
 * The loop here compares 64 bytes per iteration. It only reads memory that was allocated as
 * a WebAssembly memory (`scannableBuffer`, which the memory reader's pre-faulted reserve
 * uses); for any other buffer `wordScanner` answers undefined and callers scan in JS.
 *
 * `PERISCOPE_SCAN=js` turns it off (for comparisons), read at each reserve.
 *
 * The module is the assembled text of `word-scan.wat` (beside this file), by wabt 1.0.39 (a dev
 * dependency): `npx wat2wasm src/common/word-scan.wat -o /tmp/ws.wasm && base64 -w0 /tmp/ws.wasm`
 * (SIMD is on by default; base64 below). test/common/word-scan-wat.test.ts checks the two agree.
 */

/** The WebAssembly API this module uses (the root tsconfig has no DOM or wasm types). */
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { readonly exports: { scan?: ScanFn } };
}

type ScanFn = (from: number, end: number, lo: number, hi: number) => number;

const WASM_BASE64 =
  'AGFzbQEAAAABCQFgBH9/fHwBfwIKAQFtA21lbQIAAAMCAQAHCAEEc2NhbgAACusBAegBAwJ+A3sBfiAC/AchBCAD/AchBSAE/RIhBiAF/RIhBwJAA0AgAEHAAGogAUsNASAA/QAAACAG/dsBIAD9AAAAIAf92gH9TiEIIAggAP0AABAgBv3bASAA/QAAECAH/doB/U79UCEIIAggAP0AACAgBv3bASAA/QAAICAH/doB/U79UCEIIAggAP0AADAgBv3bASAA/QAAMCAH/doB/U79UCEIIAj9Uw0BIABBwABqIQAMAAsLAkADQCAAQQhqIAFLDQEgACkAACEJIAkgBFogCSAFWHEEQCAADwsgAEEIaiEADAALC0F/Cw==';

/** WebAssembly pages are 64 KiB. */
const PAGE = 65536;
/**
 * The largest memory made scannable: offsets are 32-bit in the module (and `p + 64` must not
 * wrap); larger reserves (over 1.5 million goroutines' worth) use a plain Buffer.
 */
const MAX_BYTES = 2 ** 31;

let compiled: object | null | undefined;
const scanners = new WeakMap<ArrayBuffer, ScanFn>();

function wasm(): WasmApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
}

function module(): object | null {
  if (compiled !== undefined) return compiled;
  try {
    const api = wasm();
    compiled = api ? new api.Module(Buffer.from(WASM_BASE64, 'base64')) : null;
  } catch {
    compiled = null; // no SIMD in this runtime: callers scan in JS
  }
  return compiled;
}

/**
 * A zeroed Buffer of `bytes` bytes that `wordScanner` can scan (a WebAssembly memory that
 * never grows, so its address never changes), or undefined when the runtime cannot make one.
 * Its pages are not faulted in: the caller fills it as it would any reserve.
 */
export function scannableBuffer(bytes: number): Buffer | undefined {
  if (bytes <= 0 || bytes > MAX_BYTES || process.env.PERISCOPE_SCAN === 'js') return undefined;
  const api = wasm();
  const mod = module();
  if (!api || !mod) return undefined;
  try {
    const pages = Math.ceil(bytes / PAGE);
    const memory = new api.Memory({ initial: pages, maximum: pages });
    const scan = new api.Instance(mod, { m: { mem: memory } }).exports.scan;
    if (typeof scan !== 'function') return undefined;
    scanners.set(memory.buffer, scan);
    return Buffer.from(memory.buffer, 0, bytes);
  } catch {
    return undefined; // e.g. out of address space for another memory: a plain Buffer will do
  }
}

/** Finds words by value in one view; see wordScanner. */
export type WordScanner = (from: number, end: number, lo: number, hi: number) => number;

/**
 * For a view into a scannable buffer: a function giving the byte offset (relative to the view,
 * a multiple of 8 when `from` is) of the first 8-byte little-endian word in [from, end) whose
 * value v has lo <= v <= hi, or -1. lo and hi must be below 2^53. Undefined for other views.
 */
export function wordScanner(view: Uint8Array): WordScanner | undefined {
  const scan = scanners.get(view.buffer as ArrayBuffer);
  if (!scan) return undefined;
  const base = view.byteOffset;
  const limit = view.byteLength;
  return (from, end, lo, hi) => {
    const e = Math.min(end, limit);
    if (from >= e) return -1;
    const at = scan(base + from, base + e, lo, hi);
    return at < 0 ? -1 : at - base;
  };
}
