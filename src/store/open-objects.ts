/**
 * `--objects URL` to an ObjectStore: the one place each URL scheme is dispatched.
 */
import { PeriscopeError } from '../common/errors.js';
import { FileObjects } from './file-objects.js';
import type { ObjectStore } from './object-store.js';

/** Opens the object store a URL names (`file:///dir`; `s3://` is not wired in yet). */
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
      // S3Objects (s3-objects.ts) is on main; it is wired in here (S3Objects.fromUrl(u)) when the branches are joined.
      throw new PeriscopeError(
        'unsupported',
        `--objects ${u.protocol}// is not available in this build yet; use file:///dir (a directory every server can reach)`,
      );
    default:
      throw new PeriscopeError(
        'bad-usage',
        `--objects "${url}": unknown scheme ${u.protocol}; use file:///dir or s3://bucket/prefix`,
      );
  }
}
