/**
 * Parsed specs kept on disk for one-shot commands: a CLI query of a spec table parsed the
 * built-in spec's and the store's YAML on every run (40-130 ms, plus loading the YAML
 * library). The key is the SHA-256 of the text, its source name and Periscope's version, so a
 * changed spec (or a new parser) is a miss, never a stale hit. Off unless a command turns it on
 * (the server and the agent parse a spec once per change). A cache never fails a command:
 * an unreadable or unwritable entry is parsed again.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { writeFileAtomic } from '../common/atomic-file.js';
import { PERISCOPE_VERSION } from '../common/version.js';
import type { Spec } from './spec-types.js';

/** Bumped when the cached form changes within one Periscope version. */
const FORMAT = 1;

let dir: string | undefined;

/** Keeps parsed specs in `directory` (undefined: no disk cache). */
export function useSpecDiskCache(directory: string | undefined): void {
  dir = directory;
}

function entryPath(d: string, text: string, source: string): string {
  const key = createHash('sha256')
    .update(`${FORMAT}\0${PERISCOPE_VERSION}\0${source}\0${text}`)
    .digest('hex');
  return join(d, `${key}.json`);
}

/** The parsed spec of this text and source from the cache, if it holds it. */
export function cachedSpec(text: string, source: string): Spec | undefined {
  if (dir === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(entryPath(dir, text, source), 'utf8')) as Spec;
  } catch {
    return undefined;
  }
}

/** Keeps a parsed spec; one that JSON does not carry exactly (undefined fields) is not kept. */
export function keepSpec(text: string, source: string, spec: Spec): void {
  if (dir === undefined) return;
  const json = JSON.stringify(spec);
  if (!isDeepStrictEqual(JSON.parse(json), spec)) return;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(entryPath(dir, text, source), json);
  } catch {
    // A cache never fails a command: the spec is parsed again next time.
  }
}
