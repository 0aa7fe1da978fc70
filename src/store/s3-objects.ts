/**
 * The `s3://` object store: any S3-compatible service (AWS S3, SeaweedFS, MinIO, …) through
 * a small SigV4 client of our own (`s3-http.ts`, `s3-signature.ts`; no SDK). A PUT is atomic
 * in S3 (readers see the old or the new object, never part), which is what `ObjectStore.put`
 * promises; objects up to 5 GiB (one PUT; snapshot files are far smaller). URL form and
 * credentials: `s3-config.ts` and docs/storage.md.
 */
import { PeriscopeError } from '../common/errors.js';
import type { ObjectInfo, ObjectStore } from './object-store.js';
import { describeS3, parseS3Url, type S3Config } from './s3-config.js';
import { md5Base64, S3Client, type S3Transport } from './s3-http.js';
import { deleteBody, parseDeleteErrors, parseError, parseListPage, xmlCanCarry } from './s3-xml.js';

/** Tuning of an S3 store: retries and timeouts, the listing page size, where credentials come from. */
export interface S3ObjectsOptions extends S3Transport {
  /** Keys per ListObjectsV2 page (max-keys; S3 answers at most 1000). */
  readonly listPageSize?: number;
  /** The environment credentials and region are read from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

// DeleteObjects takes at most 1000 keys a request.
const DELETE_BATCH = 1000;

/** An ObjectStore in an S3 bucket, under the URL's prefix. */
export class S3Objects implements ObjectStore {
  readonly #config: S3Config;
  readonly #client: S3Client;
  readonly #pageSize: number;

  /** A store for an `s3://bucket/prefix?endpoint=…&region=…&path_style=1` URL, credentials from AWS_* variables. */
  static fromUrl(url: URL, options: S3ObjectsOptions = {}): S3Objects {
    return new S3Objects(parseS3Url(url, options.env), options);
  }

  private constructor(config: S3Config, options: S3ObjectsOptions) {
    this.#config = config;
    this.#client = new S3Client(config, options);
    this.#pageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
  }

  /** Writes `body` under `key` with one PUT (atomic in S3). */
  async put(key: string, body: Uint8Array): Promise<void> {
    const req = { method: 'PUT', key: this.#full(key), body, what: `put of "${key}"` } as const;
    const res = await this.#client.send(req);
    if (res.status < 200 || res.status > 299) throw this.#client.refusal(req, res);
  }

  /** The object under `key`, or undefined when there is none (404 NoSuchKey). */
  async get(key: string): Promise<Uint8Array | undefined> {
    const req = { method: 'GET', key: this.#full(key), what: `get of "${key}"` } as const;
    const res = await this.#client.send(req);
    if (res.status === 200) return new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.byteLength);
    if (res.status === 404) {
      const { code } = parseError(res.body.toString('utf8'));
      if (code === 'NoSuchKey' || code === '') return undefined;
    }
    throw this.#client.refusal(req, res);
  }

  /** Every object under `prefix`, all ListObjectsV2 pages, in S3's key order (UTF-8 bytes). */
  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const strip = this.#config.prefix.length;
    let token: string | undefined;
    do {
      const query: Array<[string, string]> = [
        ['list-type', '2'],
        ['encoding-type', 'url'],
        ['prefix', this.#config.prefix + prefix],
        ['max-keys', String(this.#pageSize)],
      ];
      if (token !== undefined) query.push(['continuation-token', token]);
      const req = { method: 'GET', query, what: `listing of "${prefix}"` } as const;
      const res = await this.#client.send(req);
      if (res.status !== 200) throw this.#client.refusal(req, res);
      const page = parseListPage(res.body.toString('utf8'));
      for (const o of page.objects) out.push({ key: o.key.slice(strip), size: o.size });
      if (page.nextToken !== undefined && page.nextToken === token)
        throw new PeriscopeError(
          'corrupt',
          `the object store ${this.describe()} answered the same continuation token twice while listing "${prefix}"`,
        );
      token = page.nextToken;
    } while (token !== undefined);
    // S3 lists in UTF-8 byte order; sorting again keeps that promise for services that do not.
    return out.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  }

  /** Deletes `keys` (DeleteObjects, 1000 a request); missing keys are not errors. */
  async delete(keys: readonly string[]): Promise<void> {
    const full = keys.map((k) => this.#full(k));
    // XML cannot carry some control characters: such keys go one DELETE each.
    for (const key of full.filter((k) => !xmlCanCarry(k))) {
      const req = {
        method: 'DELETE',
        key,
        what: `delete of "${key.slice(this.#config.prefix.length)}"`,
      } as const;
      const res = await this.#client.send(req);
      if (res.status !== 204 && res.status !== 200 && res.status !== 404)
        throw this.#client.refusal(req, res);
      if (res.status === 404 && parseError(res.body.toString('utf8')).code === 'NoSuchBucket')
        throw this.#client.refusal(req, res);
    }
    const batchable = full.filter(xmlCanCarry);
    for (let i = 0; i < batchable.length; i += DELETE_BATCH) {
      const batch = batchable.slice(i, i + DELETE_BATCH);
      const body = Buffer.from(deleteBody(batch));
      const req = {
        method: 'POST',
        query: [['delete', '']],
        body,
        headers: { 'content-md5': md5Base64(body), 'content-type': 'application/xml' },
        what: `delete of ${batch.length} objects`,
      } as const;
      const res = await this.#client.send(req);
      if (res.status !== 200) throw this.#client.refusal(req, res);
      const failed = parseDeleteErrors(res.body.toString('utf8')).filter((e) => e.code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new PeriscopeError(
          first.code === 'AccessDenied' ? 'permission' : 'bad-usage',
          `the object store ${describeS3(this.#config)} did not delete ${failed.length} of ${batch.length} objects (first: "${first.key}": ${first.code} ${first.message})`,
        );
      }
    }
  }

  /** Where the objects are (bucket, prefix, endpoint, region, addressing; never a credential). */
  describe(): string {
    return describeS3(this.#config);
  }

  #full(key: string): string {
    // The rule every backend keeps (a key valid here is valid in a directory too); S3-compatible
    // services differ on `.`/`..` parts (SeaweedFS refuses them, AWS keeps them).
    if (key.split('/').some((p) => p === '' || p === '.' || p === '..'))
      throw new PeriscopeError(
        'bad-usage',
        `"${key}" is not an object key (a relative path of non-empty parts, none of them . or ..)`,
      );
    return this.#config.prefix + key;
  }
}
