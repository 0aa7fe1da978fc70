/**
 * One signed S3 request over node:http(s), retried with exponential backoff and jitter on
 * network errors, timeouts, 5xx (503 SlowDown among them) and 429; what is left after the
 * last attempt, or a refusal, becomes a PeriscopeError naming the bucket, the endpoint and
 * what to check. The path is written as encoded here (never normalised by a URL parser, so
 * keys with `.`/`..` segments or `%` reach the server as they are).
 */
import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PeriscopeError } from '../common/errors.js';
import { describeS3, type S3Config } from './s3-config.js';
import { amzDate, canonicalQuery, encodeKeyPath, sha256Hex, signRequest } from './s3-signature.js';
import { parseError } from './s3-xml.js';

/** How hard to try: attempts, backoff and the per-attempt timeout; `lookup` overrides DNS. */
export interface S3Transport {
  /** Attempts per request, the first included (default 5). */
  readonly attempts?: number;
  /** Backoff before the second attempt, doubled each time, with jitter (default 200 ms). */
  readonly backoffMs?: number;
  /** The longest wait between attempts (default 5 s). */
  readonly maxBackoffMs?: number;
  /** An attempt with no progress for this long is abandoned and retried (default 30 s). */
  readonly timeoutMs?: number;
  /** Resolves host names (virtual-hosted buckets on a private endpoint; tests). */
  readonly lookup?: LookupFunction;
}

/** One S3 operation: the key under the bucket (full, prefix included) or none for the bucket itself. */
export interface S3Request {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD';
  readonly key?: string;
  readonly query?: ReadonlyArray<readonly [string, string]>;
  readonly body?: Uint8Array;
  /** Extra headers sent and signed (e.g. content-md5). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The operation in words, for messages ("put of key x"). */
  readonly what: string;
}

/** An answer with its whole body. */
export interface S3Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Sends signed requests for one store; keeps its connections alive between requests. */
export class S3Client {
  readonly #config: S3Config;
  readonly #transport: Required<Omit<S3Transport, 'lookup'>> & { lookup: LookupFunction | undefined };
  readonly #agent: HttpAgent;

  constructor(config: S3Config, transport: S3Transport = {}) {
    this.#config = config;
    this.#transport = {
      attempts: Math.max(1, transport.attempts ?? 5),
      backoffMs: transport.backoffMs ?? 200,
      maxBackoffMs: transport.maxBackoffMs ?? 5000,
      timeoutMs: transport.timeoutMs ?? 30_000,
      lookup: transport.lookup,
    };
    const https = config.endpoint.protocol === 'https:';
    this.#agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  }

  /** Sends `req`, retrying transient failures; resolves to any non-transient answer (the caller judges 4xx). */
  async send(req: S3Request): Promise<S3Response> {
    const { attempts, backoffMs, maxBackoffMs } = this.#transport;
    const t0 = Date.now();
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        const cap = Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 2));
        await sleep(cap / 2 + Math.random() * (cap / 2));
      }
      try {
        const res = await this.#once(req);
        if (!RETRY_STATUS.has(res.status)) return res;
        const e = parseError(res.body.toString('utf8'));
        last = `HTTP ${res.status}${e.code ? ` ${e.code}` : ''}${e.message ? `: ${e.message}` : ''}`;
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        // Node's own refusals of a request (ERR_INVALID_CHAR in a header, …) fail the same way every time.
        if (err.code?.startsWith('ERR_')) throw e;
        last = err.code
          ? `${err.code}${err.message.includes(err.code) ? '' : ` (${err.message})`}`
          : err.message;
      }
    }
    const took = ((Date.now() - t0) / 1000).toFixed(1);
    throw new PeriscopeError(
      'timeout',
      `the object store ${describeS3(this.#config)} did not answer the ${req.what} (${last}, after ${attempts} attempts over ${took} s): check that the endpoint is right and the service is up`,
    );
  }

  /** The error for an answer the caller cannot use: what to check for 403, 404 NoSuchBucket, wrong region. */
  refusal(req: S3Request, res: S3Response): PeriscopeError {
    const { code, message } = parseError(res.body.toString('utf8'));
    const where = `bucket "${this.#config.bucket}" at ${this.#config.endpoint.origin}`;
    const said = `HTTP ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
    if (res.status === 403)
      return new PeriscopeError(
        'permission',
        `the object store refused the ${req.what} in ${where} (${said}): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), the key's permissions on the bucket, and this machine's clock (S3 refuses signatures more than 15 minutes off)`,
      );
    if (code === 'NoSuchBucket' || (res.status === 404 && req.key === undefined && code === ''))
      return new PeriscopeError(
        'not-found',
        `there is no ${where} (${said}): create the bucket, or correct the bucket and endpoint in the s3:// URL`,
      );
    if (res.status === 301 || code === 'AuthorizationHeaderMalformed' || code === 'PermanentRedirect')
      return new PeriscopeError(
        'bad-usage',
        `the ${req.what} in ${where} was refused (${said}): the bucket is in another region than ${this.#config.region}; set region= in the s3:// URL or AWS_REGION`,
      );
    return new PeriscopeError('bad-usage', `the object store refused the ${req.what} in ${where} (${said})`);
  }

  async #once(req: S3Request): Promise<S3Response> {
    const { bucket, endpoint, pathStyle, region, credentials } = this.#config;
    const host = pathStyle ? endpoint.host : `${bucket}.${endpoint.host}`;
    const keyPath = req.key === undefined ? '' : `/${encodeKeyPath(req.key)}`;
    const path = pathStyle ? `/${bucket}${keyPath}` : keyPath || '/';
    const body = req.body ?? new Uint8Array(0);
    const payloadHash = sha256Hex(body);
    const signed: Record<string, string> = {
      host,
      'x-amz-date': amzDate(new Date()),
      'x-amz-content-sha256': payloadHash,
      ...req.headers,
    };
    if (credentials.sessionToken) signed['x-amz-security-token'] = credentials.sessionToken;
    const query = req.query ?? [];
    const { authorization } = signRequest(
      {
        method: req.method,
        path,
        query,
        headers: signed,
        payloadHash,
        region,
        service: 's3',
        amzDate: signed['x-amz-date']!,
      },
      credentials,
    );
    const qs = canonicalQuery(query);
    const send = endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
    return await new Promise<S3Response>((resolve, reject) => {
      const r = send(
        {
          protocol: endpoint.protocol,
          hostname: pathStyle ? endpoint.hostname : `${bucket}.${endpoint.hostname}`,
          port: endpoint.port || undefined,
          method: req.method,
          path: qs ? `${path}?${qs}` : path,
          headers: {
            ...signed,
            authorization,
            'content-length': String(body.byteLength),
          },
          agent: this.#agent,
          lookup: this.#transport.lookup,
          timeout: this.#transport.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const got = Buffer.concat(chunks);
            const length = res.headers['content-length'];
            // A connection cut mid-body can end quietly: a short body is a failed attempt, never an object.
            if (req.method !== 'HEAD' && length !== undefined && Number(length) !== got.byteLength)
              reject(new Error(`the answer was cut off (${got.byteLength} of ${length} bytes)`));
            else resolve({ status: res.statusCode ?? 0, headers: res.headers, body: got });
          });
          res.on('error', reject);
          res.on('aborted', () => reject(new Error('the answer was cut off')));
        },
      );
      r.on('timeout', () =>
        r.destroy(
          Object.assign(new Error(`no answer in ${this.#transport.timeoutMs} ms`), { code: 'ETIMEDOUT' }),
        ),
      );
      r.on('error', reject);
      r.end(body.byteLength > 0 ? body : undefined);
    });
  }
}

/** Base64 MD5 of a body, for Content-MD5 (DeleteObjects requires it). */
export function md5Base64(body: Uint8Array): string {
  return createHash('md5').update(body).digest('base64');
}
