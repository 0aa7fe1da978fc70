/**
 * HTTP(S) to a Periscope server: JSON requests with the bearer token, and failures turned into
 * errors a user can act on: a refused connection, an unknown host, a timeout, a certificate
 * this client does not trust or that is not the pinned one, a TLS server asked in plain HTTP
 * and back, a missing or wrong token (401), a token without the right role (403), and the
 * server's own error messages. A token goes in clear only to this machine unless allowed.
 */
import type { ConnectionOptions } from 'node:tls';
import type { ErrorResponse } from '../api/responses.js';
import { PeriscopeError } from '../common/errors.js';
import { clientTlsOptions, describeTlsError, requireTlsOffHost } from '../common/tls-client.js';
import type { ServerTarget } from './target.js';

/** Requests to one server as one token. */
export class HttpTransport {
  /** The server's origin, e.g. http://127.0.0.1:7070. */
  readonly base: string;
  private readonly token: string | undefined;
  private readonly tls: ConnectionOptions;

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
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new PeriscopeError(
        'bad-usage',
        `"${target.server}" is not an http:// or https:// URL; give e.g. --server https://host:7070`,
      );
    if (target.token) requireTlsOffHost(url, target.tls?.insecurePlain, '--server');
    this.base = url.origin;
    this.token = target.token;
    this.tls = url.protocol === 'https:' ? clientTlsOptions(target.tls ?? {}) : {};
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
        const req = request(url, { method, headers, agent: false, ...this.tls }, (r) => {
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
    const tlsProblem = describeTlsError(e, this.base);
    if (tlsProblem) return new PeriscopeError('permission', tlsProblem);
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
    if (code === 'ECONNRESET' && this.base.startsWith('http:'))
      return new PeriscopeError(
        'not-found',
        `${this.base} closed the connection; if that server speaks HTTPS, use https:// (and --ca for a private CA)`,
      );
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
