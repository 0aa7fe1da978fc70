/**
 * Goroutines and their stacks, the entry of this room for the layers below: the capture
 * plan made before a pause, the copy made inside it, the decode after it, and the frame
 * hosts that pick which goroutines a spec's values need unwound inside the pause.
 */
export {
  type CaptureOptions,
  type CaptureReserve,
  captureGoroutines,
  type GoroutineCapture,
  type GoroutineCapturePlan,
  memoryOf,
  planGoroutineCapture,
  reserveForCapture,
} from './capture.js';
export { type DecodeOptions, decodeGoroutines, stackNotCopied } from './decode.js';
export {
  frameHostRanges,
  frameHostsOf,
  type HostRanges,
  inHost,
  MAX_FRAME_HOST_SETS,
  mayHaveFrames,
  seedFrameHosts,
} from './frame-hosts.js';
export { type StackSymbols, stackSymbolsFor } from './stack-symbols.js';
export type {
  CreatedBy,
  Goroutine,
  GoroutineSnapshot,
  GoroutineSnapshotStats,
  StackSource,
} from './types.js';
export { type Frame, frameCfa, frameSp, type Stack, type StackEnd } from './unwind.js';
