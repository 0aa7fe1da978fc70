/**
 * HTTP to a Periscope server: JSON requests with the bearer token, and failures turned into
 * errors a user can act on: a refused connection, an unknown host, a timeout, a missing or wrong
 * token (401), a token without the right role (403), and the server's own error messages.
 */
import type { ErrorResponse } from '../api/responses.js';
import { PeriscopeError } from '../common/errors.js';
import type { ServerTarget } from './target.js';

/** Requests to one server as one token. */
export class HttpTransport {
  /** The server's origin, e.g. http://127.0.0.1:7070. */
  readonly base: string;
  private readonly token: string | undefined;

  constructor(target: ServerTarget) {
    let url: URL;
    try {
      url = new URL(target.server.includes('://') ? target.server : `http://${target.server}`);
    } catch {
      throw new PeriscopeError(
        'bad-usage',
        `"${target.server}" is not a server URL; give e.g. --server http://host:7070`,
      );
    }
    this.base = url.origin;
    this.token = target.token;
  }

  /** One request: JSON in, JSON out; failures become PeriscopeErrors that say what to do. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = await this.send(method, path, body, 'application/json');
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new PeriscopeError(
        'corrupt',
        `${this.base} answered ${method} ${path} with something that is not JSON`,
      );
    }
  }

  /** One request whose answer is text (e.g. CSV). */
  text(method: string, path: string, body?: unknown): Promise<string> {
    return this.send(method, path, body, '*/*');
  }

  // node:http rather than fetch: Node 20 loads fetch's implementation (undici) on first use,
  // which took longer than the rest of a `periscope query --server` (docs/performance.md).
  private async send(method: string, path: string, body: unknown, accept: string): Promise<string> {
    const headers: Record<string, string> = { accept };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const url = new URL(path, this.base);
    const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
    let res: { status: number; text: string };
    try {
      res = await new Promise((resolve, reject) => {
        const req = request(url, { method, headers }, (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () =>
            resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          r.on('error', reject);
        });
        req.on('error', reject);
        req.end(payload);
      });
    } catch (e) {
      throw this.connectionError(e);
    }
    if (res.status < 200 || res.status > 299) throw this.httpError(res.status, res.text);
    return res.text;
  }

  private connectionError(e: unknown): PeriscopeError {
    const err = e as { code?: string; cause?: { code?: string; message?: string } };
    const cause = err.cause;
    const code = err.code ?? cause?.code ?? '';
    if (code === 'ECONNREFUSED')
      return new PeriscopeError(
        'not-found',
        `cannot connect to ${this.base} (connection refused); is \`periscope server\` running there? Check --server or $PERISCOPE_SERVER`,
      );
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return new PeriscopeError('not-found', `cannot resolve the host of ${this.base}; check --server`);
    if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT')
      return new PeriscopeError(
        'timeout',
        `${this.base} did not answer (timeout); check --server and the network`,
      );
    return new PeriscopeError(
      'not-found',
      `cannot reach ${this.base}: ${cause?.message ?? (e as Error).message}`,
    );
  }

  private httpError(status: number, text: string): PeriscopeError {
    let message = text.trim().slice(0, 500);
    try {
      const m = (JSON.parse(text) as Partial<ErrorResponse>).error?.message;
      if (m) message = m;
    } catch {
      // not JSON: keep the text
    }
    if (status === 401)
      return new PeriscopeError(
        'permission',
        `the server refused the token (401): ${message}. Give a valid one with --token or $PERISCOPE_TOKEN`,
      );
    if (status === 403) return new PeriscopeError('permission', `not allowed (403): ${message}`);
    if (status === 404) return new PeriscopeError('not-found', message);
    if (status === 400 || status === 422) return new PeriscopeError('bad-usage', message);
    if (status === 504) return new PeriscopeError('timeout', message);
    return new PeriscopeError('corrupt', `the server failed (${status}): ${message}`);
  }
}
