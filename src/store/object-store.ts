/**
 * Object storage for a scaled-out Periscope: where snapshot data lives when several servers
 * share it (`--objects URL`). Keys are `/`-separated relative paths; an object is written
 * once, whole, and is visible to readers only when complete (a put never shows half an object).
 * Backends: `file:///dir` (a directory, shared by servers on one machine or over NFS) and
 * `s3://bucket/prefix` (any S3-compatible service).
 */

/** One stored object as a listing shows it. */
export interface ObjectInfo {
  /** The key, relative to the store's root or prefix. */
  readonly key: string;
  readonly size: number;
}

/** A bucket-like store of immutable objects. Every method retries transient failures itself. */
export interface ObjectStore {
  /** Writes `body` under `key`, replacing any object there; readers see old or new, never part. */
  put(key: string, body: Uint8Array): Promise<void>;
  /** The object under `key`, or undefined when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Every object whose key starts with `prefix` (all pages), in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes the objects under `keys`; a key with no object is not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Where the objects are, for messages and logs (never a secret). */
  describe(): string;
}
