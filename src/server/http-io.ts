/** Reading requests and writing responses of the JSON API (bounded bodies, no framework). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeJson, writePieces } from '../common/json-stream.js';
import { HttpError } from './http-errors.js';

/** Largest request body accepted (a spec or a SQL text is far smaller). */
export const MAX_BODY = 4 << 20;

/**
 * How much of a too-large body is read and dropped before the 413, so that the client, still
 * sending, reads the answer instead of a reset connection; past it the connection is dropped.
 */
const DRAIN_MAX = 32 << 20;

/** Reads the whole body as text; 413 when it is too large. */
export async function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit + DRAIN_MAX) break;
    if (size <= limit) chunks.push(b);
  }
  if (size > limit) throw new HttpError(413, 'too-large', `request body over ${limit} bytes`);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a JSON object body; 400 with the parser's message when it is not one. An empty body is {}. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'bad-json', `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new HttpError(400, 'bad-json', 'request body must be a JSON object');
  return v as Record<string, unknown>;
}

/** Sends a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * Sends a JSON response written in pieces with backpressure: a query result of any size, never
 * one string (V8's strings stop at ~512 MiB).
 */
export async function streamJson(res: ServerResponse, status: number, body: unknown): Promise<void> {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  await writeJson(res, body);
  res.end();
}

/** Sends a text response of the given content type, in pieces with backpressure. */
export async function streamText(
  res: ServerResponse,
  status: number,
  type: string,
  pieces: Iterable<string>,
): Promise<void> {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  await writePieces(res, pieces);
  res.end();
}

/** Sends a text response of the given content type. */
export function sendText(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  res.end(body);
}

/** Sends an error as `{ "error": { "code", "message" } }`. */
export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, { error: { code: err.code, message: err.message } });
}
