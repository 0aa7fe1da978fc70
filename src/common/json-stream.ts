/**
 * JSON of any size written to a stream in pieces: the text equals JSON.stringify's (same
 * indentation, same omitted members, toJSON honoured), but it is never built as one string, so
 * its size is bounded by the disk and not by V8's maximum string length (~512 MiB: a snapshot
 * of 100k goroutines printed with --json exceeded it). Arrays and objects are walked down to a
 * few levels (a snapshot's goroutines, a result's rows); below that each element is stringified
 * on its own and re-indented.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/** How many levels of arrays and objects are walked before an element is stringified whole. */
const WALK_DEPTH = 3;

/** Pieces are gathered into writes of about this many characters. */
const WRITE_SIZE = 1 << 16;

/** The value JSON.stringify would write for v (after toJSON), or undefined when it writes none. */
function jsonValue(v: unknown, key: string): unknown {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function')
    return (v as { toJSON(k: string): unknown }).toJSON(key);
  return v;
}

/** True for what JSON.stringify leaves out of an object (and writes as null in an array). */
function omitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/** A plain walkable container: an array or an object that is not boxed (String, Number, Boolean). */
function walkable(v: unknown): v is object {
  return (
    v !== null &&
    typeof v === 'object' &&
    !(v instanceof String) &&
    !(v instanceof Number) &&
    !(v instanceof Boolean)
  );
}

/** The text of one element stringified whole, indented as if it sat `pad` deep. */
function whole(v: unknown, indent: string, pad: string): string {
  const s = JSON.stringify(v, null, indent) ?? 'null';
  // A JSON text holds line breaks only between its tokens (strings escape theirs).
  return indent === '' || pad === '' ? s : s.replaceAll('\n', `\n${pad}`);
}

/** The pieces of the JSON text of v, as JSON.stringify(v, null, indent) would write it. */
export function* jsonPieces(v: unknown, indent: number | string = 0): Generator<string> {
  const ind =
    typeof indent === 'number' ? ' '.repeat(Math.min(10, Math.max(0, indent))) : indent.slice(0, 10);
  const root = jsonValue(v, '');
  if (omitted(root)) return;
  yield* walk(root, ind, '', 0);
}

function* walk(v: unknown, indent: string, pad: string, depth: number): Generator<string> {
  if (!walkable(v) || depth >= WALK_DEPTH) {
    yield whole(v, indent, pad);
    return;
  }
  const inner = pad + indent;
  const open = indent === '' ? '' : `\n${inner}`;
  const sep = indent === '' ? ',' : `,\n${inner}`;
  const close = indent === '' ? '' : `\n${pad}`;
  const colon = indent === '' ? ':' : ': ';
  if (Array.isArray(v)) {
    if (v.length === 0) {
      yield '[]';
      return;
    }
    yield `[${open}`;
    for (let i = 0; i < v.length; i++) {
      if (i > 0) yield sep;
      const e = jsonValue(v[i], String(i));
      if (omitted(e)) yield 'null';
      else yield* walk(e, indent, inner, depth + 1);
    }
    yield `${close}]`;
    return;
  }
  let first = true;
  for (const k of Object.keys(v)) {
    const e = jsonValue((v as Record<string, unknown>)[k], k);
    if (omitted(e)) continue;
    yield `${first ? `{${open}` : sep}${JSON.stringify(k)}${colon}`;
    first = false;
    yield* walk(e, indent, inner, depth + 1);
  }
  yield first ? '{}' : `${close}}`;
}

/** Writes text pieces to a stream in writes of about WRITE_SIZE characters, waiting when it is full. */
export async function writePieces(stream: Writable, pieces: Iterable<string>): Promise<void> {
  let buf: string[] = [];
  let size = 0;
  const flush = async () => {
    const text = buf.join('');
    buf = [];
    size = 0;
    if (!stream.write(text)) await drained(stream);
  };
  for (const p of pieces) {
    buf.push(p);
    size += p.length;
    if (size >= WRITE_SIZE) await flush();
  }
  if (size > 0) await flush();
}

/** Resolves when a full stream has room again; rejects when it fails or closes first. */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (e?: Error) => {
      stream.off('drain', onDrain);
      stream.off('error', done);
      stream.off('close', onClose);
      if (e) reject(e);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the output closed before everything was written'));
    stream.on('drain', onDrain);
    stream.on('error', done);
    stream.on('close', onClose);
  });
}

/** Writes v as JSON (JSON.stringify(v, null, indent)'s text) and a line break to a stream. */
export async function writeJson(stream: Writable, v: unknown, indent: number | string = 0): Promise<void> {
  await writePieces(
    stream,
    (function* () {
      yield* jsonPieces(v, indent);
      yield '\n';
    })(),
  );
}

/** Writes v as compact JSON (JSON.stringify(v)'s text, no line break) to a file, replacing it. */
export async function writeJsonFile(path: string, v: unknown): Promise<void> {
  const file = createWriteStream(path);
  const opened = new Promise<void>((resolve, reject) => {
    file.once('open', () => resolve());
    file.once('error', reject);
  });
  await opened;
  await writePieces(file, jsonPieces(v));
  file.end();
  await finished(file);
}
