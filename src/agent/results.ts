/**
 * The agent's answers as protocol messages: error kinds mapped to the protocol's, and a
 * `captured` message built around a snapshot already encoded by the capture thread (its
 * JSON, or deflated bytes) without parsing it again.
 */
import type { ProcessError, ProcessErrorKind } from '../protocol/messages.js';
import { statFacts } from './discovery.js';

const KIND_OF: Record<string, ProcessErrorKind> = {
  stripped: 'BINARY_STRIPPED',
  'not-found': 'PROCESS_MISSING',
  'not-go': 'NOT_GO',
  'not-elf': 'NOT_GO',
  permission: 'PERMISSION',
  timeout: 'TIMEOUT',
  'bad-spec': 'SPEC_MISMATCH',
};

/** Maps a PeriscopeError kind to the protocol's per-process error kinds. */
export function protocolKind(kind: string): ProcessErrorKind {
  return KIND_OF[kind] ?? 'INTERNAL';
}

/** Whether the process behind (pid, start time) is gone (exited, a zombie, or its pid reused). */
export function processGone(pid: number, startTime: number): boolean {
  const now = statFacts(pid);
  return !now || now.zombie || now.startTime !== startTime;
}

/** The error kind after a failure: PROCESS_MISSING whenever the process is gone, whatever failed. */
export function kindAfterFailure(pid: number, startTime: number, kind: string): ProcessErrorKind {
  return processGone(pid, startTime) ? 'PROCESS_MISSING' : protocolKind(kind);
}

/** The fields of a `captured` message besides the snapshot. */
export interface CapturedHead {
  readonly requestId: string;
  readonly key: string;
  readonly startedAt: number;
  readonly elapsedMs?: number;
  readonly error?: ProcessError;
}

/** A `captured` message (JSON text) around an encoded snapshot: JSON bytes, or deflated bytes. */
export function capturedText(head: CapturedHead, bytes: Uint8Array, deflated: boolean): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const body = deflated
    ? `"snapshotDeflated":"${buf.toString('base64')}"`
    : `"snapshot":${buf.toString('utf8')}`;
  return `${JSON.stringify({ type: 'captured', ...head }).slice(0, -1)},${body}}`;
}

/** A `captured` message without a snapshot (an error). */
export function capturedErrorText(head: CapturedHead): string {
  return JSON.stringify({ type: 'captured', ...head });
}
