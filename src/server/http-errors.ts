/** Errors the HTTP API returns: a status, a stable code and a message that says what to do. */
import { BadRequest } from '../api/fields.js';
import { PeriscopeError } from '../common/errors.js';

/** An error with the HTTP status to answer with. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const STATUS_OF_KIND: Record<string, number> = {
  'bad-usage': 400,
  'bad-spec': 400,
  'not-found': 404,
  permission: 403,
  timeout: 504,
};

/** Maps any thrown value to a status, code and one-line message (internal errors say so). */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof BadRequest) return new HttpError(400, 'bad-request', err.message);
  if (err instanceof PeriscopeError)
    return new HttpError(STATUS_OF_KIND[err.kind] ?? 400, err.kind, err.message);
  const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
  return new HttpError(500, 'internal', `internal error: ${message}; the server log has details`);
}
