/**
 * AWS Signature Version 4 for S3 requests, with node:crypto: the canonical request, the string
 * to sign, the derived signing key and the Authorization header. S3's rules: the path is
 * URI-encoded once (not twice as other services), and `x-amz-content-sha256` carries the
 * payload's hash, which is signed.
 */
import { createHash, createHmac } from 'node:crypto';

/** The keys a request is signed with (from AWS_ACCESS_KEY_ID and friends). */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials' token (AWS_SESSION_TOKEN), sent as x-amz-security-token. */
  readonly sessionToken?: string | undefined;
}

/** What is signed: the canonical parts of one HTTP request. */
export interface SigningInput {
  readonly method: string;
  /** The path as sent on the wire, already encoded (`encodeKeyPath`). */
  readonly path: string;
  /** Query parameters, unencoded; signed sorted and encoded. */
  readonly query: ReadonlyArray<readonly [string, string]>;
  /** Headers to sign (host and x-amz-* at least), any case; values are trimmed. */
  readonly headers: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body, as sent in x-amz-content-sha256. */
  readonly payloadHash: string;
  readonly region: string;
  /** 's3' for S3; the AWS test suite uses 'service'. */
  readonly service: string;
  /** The request time as `YYYYMMDD'T'HHMMSS'Z'` (x-amz-date). */
  readonly amzDate: string;
}

/** The signature and the Authorization header carrying it, plus the intermediate texts (for tests). */
export interface Signature {
  readonly authorization: string;
  readonly signature: string;
  readonly canonicalRequest: string;
  readonly stringToSign: string;
}

/** Hex SHA-256 of bytes or text. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The `x-amz-date` text of a time: ISO 8601 basic format, seconds, UTC. */
export function amzDate(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** RFC 3986 encoding as SigV4 wants it: everything but A–Z a–z 0–9 `-._~` as %XX of UTF-8. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** A key as a URL path: each `/`-separated segment encoded, the slashes kept. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(uriEncode).join('/');
}

/** The query string, sorted by encoded name then value: the same text is sent and signed. */
export function canonicalQuery(query: ReadonlyArray<readonly [string, string]>): string {
  return query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Signs a request with SigV4 and returns its Authorization header. */
export function signRequest(input: SigningInput, creds: S3Credentials): Signature {
  const headers = Object.entries(input.headers)
    .map(([k, v]) => [k.toLowerCase(), v.trim().replace(/\s+/g, ' ')] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const signedHeaders = headers.map(([k]) => k).join(';');
  const canonicalRequest = [
    input.method,
    input.path,
    canonicalQuery(input.query),
    ...headers.map(([k, v]) => `${k}:${v}`),
    '',
    signedHeaders,
    input.payloadHash,
  ].join('\n');
  const day = input.amzDate.slice(0, 8);
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', input.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key: Buffer = hmac(`AWS4${creds.secretAccessKey}`, day);
  for (const part of [input.region, input.service, 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`,
    signature,
    canonicalRequest,
    stringToSign,
  };
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
