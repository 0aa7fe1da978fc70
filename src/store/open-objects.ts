/**
 * `--objects URL` to an ObjectStore: the one place each URL scheme is dispatched.
 */
import { PeriscopeError } from '../common/errors.js';
import { FileObjects } from './file-objects.js';
import type { ObjectStore } from './object-store.js';
import { S3Objects } from './s3-objects.js';

/** Opens the object store a URL names (`file:///dir`, or `s3://bucket/prefix?endpoint=…`: docs/storage.md). */
export function openObjectStore(url: string): ObjectStore {
  if (!URL.canParse(url))
    throw new PeriscopeError(
      'bad-usage',
      `--objects "${url}" is not a URL (file:///dir or s3://bucket/prefix)`,
    );
  const u = new URL(url);
  switch (u.protocol) {
    case 'file:':
      return FileObjects.fromUrl(u);
    case 's3:':
      return S3Objects.fromUrl(u);
    default:
      throw new PeriscopeError(
        'bad-usage',
        `--objects "${url}": unknown scheme ${u.protocol}; use file:///dir or s3://bucket/prefix`,
      );
  }
}
