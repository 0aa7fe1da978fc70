/**
 * The `file:///dir` ObjectStore: objects are files under one directory (on one machine, or a
 * shared mount such as NFS). A put writes a temporary file beside the target, flushes it and
 * renames it over the key, so a reader sees the old object or the new one, never part of one.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PeriscopeError } from '../common/errors.js';
import type { ObjectInfo, ObjectStore } from './object-store.js';

/** Temporary files of puts under way end in this (never listed, never a key). */
const TMP = '.periscope-tmp';

/** Checks a key: relative, `/`-separated, no `.`/`..` parts, no temporary-file suffix. */
function checkKey(key: string): void {
  const parts = key.split('/');
  if (key === '' || parts.some((p) => p === '' || p === '.' || p === '..') || key.endsWith(TMP))
    throw new PeriscopeError(
      'bad-usage',
      `"${key}" is not an object key (a relative path of non-empty parts)`,
    );
}

/**
 * Creates a directory and its missing parents one level at a time: Node's recursive mkdirSync
 * never returns for a path under /proc (measured on Node 20: it loops on ENOENT).
 */
function makeDirs(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirs(parent);
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** Objects as files under a root directory. */
export class FileObjects implements ObjectStore {
  private constructor(private readonly root: string) {}

  /** Opens `file:///dir`, creating the directory; fails when it cannot be created or written. */
  static fromUrl(url: URL): FileObjects {
    if (url.protocol !== 'file:') throw new PeriscopeError('bad-usage', `${url.href} is not a file:// URL`);
    const root = resolve(fileURLToPath(url));
    try {
      makeDirs(root);
    } catch (e) {
      throw new PeriscopeError(
        'permission',
        `cannot create the object directory ${root}: ${(e as Error).message}; check the path and its permissions`,
      );
    }
    return new FileObjects(root);
  }

  private path(key: string): string {
    checkKey(key);
    return join(this.root, ...key.split('/'));
  }

  /** Writes the object to a temporary name, flushes it, and renames it over the key. */
  async put(key: string, body: Uint8Array): Promise<void> {
    const path = this.path(key);
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}${TMP}`;
    const f = await open(tmp, 'w', 0o644);
    try {
      await f.writeFile(body);
      await f.sync();
    } catch (e) {
      await f.close();
      await rm(tmp, { force: true });
      throw e;
    }
    await f.close();
    await rename(tmp, path);
  }

  /** The object's bytes, or undefined when there is none. */
  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Every object whose key starts with `prefix`, in key order (temporary files left out). */
  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = (dir: string, keyPrefix: string): void => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const name of names) {
        const key = keyPrefix + name;
        // Only descend where the key can still match the prefix.
        if (!(key.startsWith(prefix) || prefix.startsWith(key))) continue;
        const path = join(dir, name);
        const st = statSync(path, { throwIfNoEntry: false });
        if (!st) continue;
        if (st.isDirectory()) walk(path, `${key}/`);
        else if (st.isFile() && !name.endsWith(TMP) && key.startsWith(prefix))
          out.push({ key, size: st.size });
      }
    };
    walk(this.root, '');
    // Code-unit order, as S3 lists (byte order for ASCII keys).
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Deletes the objects; a missing one is not an error. Directories left empty stay. */
  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) await rm(this.path(key), { force: true });
  }

  /** The directory. */
  describe(): string {
    return `file://${this.root.split(sep).join('/')}`;
  }
}
