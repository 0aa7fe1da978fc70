/**
 * Where an S3 object store is and how to reach it, from an `--objects` URL and the AWS_*
 * environment variables:
 * `s3://BUCKET[/PREFIX][?endpoint=http(s)://HOST[:PORT]][&region=REGION][&path_style=0|1]`.
 * Without `endpoint` the store is AWS S3 (`https://s3.REGION.amazonaws.com`, virtual-hosted
 * addressing); with one it is any S3-compatible service, path-style unless `path_style=0`.
 * Credentials come only from the environment, never from the URL.
 */
import { PeriscopeError } from '../common/errors.js';
import type { S3Credentials } from './s3-signature.js';

/** A parsed `s3://` URL plus the credentials from the environment. */
export interface S3Config {
  readonly bucket: string;
  /** The key prefix every object lives under: empty, or ending in `/`. */
  readonly prefix: string;
  /** `http(s)://host[:port]`, no path. */
  readonly endpoint: URL;
  readonly region: string;
  /** Path-style (`endpoint/bucket/key`) rather than virtual-hosted (`bucket.endpoint/key`). */
  readonly pathStyle: boolean;
  readonly credentials: S3Credentials;
}

const PARAMS = new Set(['endpoint', 'region', 'path_style']);
// S3's bucket naming rules (3–63 characters, lowercase, digits, dots, hyphens).
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses an `s3://` URL and reads the AWS_* credentials from `env`; bad input is a usage error saying what to fix. */
export function parseS3Url(url: URL, env: NodeJS.ProcessEnv = process.env): S3Config {
  const bad = (what: string) =>
    new PeriscopeError(
      'bad-usage',
      `${what} in the object store URL; expected s3://BUCKET[/PREFIX][?endpoint=http://HOST:PORT&region=REGION&path_style=1]`,
    );
  if (url.protocol !== 's3:') throw bad(`scheme "${url.protocol}" instead of s3:`);
  if (url.username || url.password)
    throw bad('credentials are not accepted (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead)');
  const bucket = url.hostname;
  if (!BUCKET.test(bucket))
    throw bad(`bucket name "${bucket}" is not a valid S3 bucket name (3-63 of a-z 0-9 . -)`);
  if (url.port) throw bad('a port after the bucket name (put the port in endpoint=)');
  if (url.hash) throw bad('a #fragment');
  for (const name of url.searchParams.keys())
    if (!PARAMS.has(name)) throw bad(`unknown parameter "${name}" (known: ${[...PARAMS].join(', ')})`);
  let prefix = decodeURIComponent(url.pathname).replace(/^\/+/, '');
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  const region = url.searchParams.get('region') || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  const given = url.searchParams.get('endpoint');
  let endpoint: URL;
  try {
    endpoint = new URL(given ?? `https://s3.${region}.amazonaws.com`);
  } catch {
    throw bad(`endpoint "${given}" is not a URL`);
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:')
    throw bad(`endpoint "${given}" is not http:// or https://`);
  if (endpoint.pathname !== '/' || endpoint.search || endpoint.username || endpoint.password)
    throw bad(`endpoint "${given}" has more than scheme, host and port`);
  const style = url.searchParams.get('path_style');
  if (style !== null && style !== '0' && style !== '1') throw bad(`path_style=${style} (use 0 or 1)`);
  const pathStyle = style === null ? given !== null : style === '1';
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey)
    throw new PeriscopeError(
      'bad-usage',
      `no credentials for s3://${bucket}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials) in the environment`,
    );
  const token = env.AWS_SESSION_TOKEN || undefined;
  for (const [name, value] of [
    ['AWS_ACCESS_KEY_ID', accessKeyId],
    ['AWS_SECRET_ACCESS_KEY', secretAccessKey],
    ['AWS_SESSION_TOKEN', token],
  ] as const)
    if (value !== undefined && !/^[\x21-\x7e]+$/.test(value))
      throw new PeriscopeError(
        'bad-usage',
        `${name} holds a space or a character that is not printable ASCII (a stray newline or quote?): set it to the key alone`,
      );
  return {
    bucket,
    prefix,
    endpoint,
    region,
    pathStyle,
    credentials: { accessKeyId, secretAccessKey, sessionToken: token },
  };
}

/** The store's place for messages: URL form without credentials, plus where requests go. */
export function describeS3(config: S3Config): string {
  return `s3://${config.bucket}/${config.prefix} (endpoint ${config.endpoint.origin}, region ${config.region}, ${config.pathStyle ? 'path-style' : 'virtual-hosted'})`;
}
