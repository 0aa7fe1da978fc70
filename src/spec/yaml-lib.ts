/**
 * The YAML library, loaded on first use: a CLI query whose spec comes from the parsed-spec
 * cache (spec-cache.ts) never loads it (importing it cost ~20 ms of a one-shot query).
 * The few functions the spec parsers use, with the library's own types.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { LineCounter, Scalar, YAMLMap, YAMLSeq } from 'yaml';

const require = createRequire(import.meta.url);
let loaded: typeof Yaml | undefined;

/** The library (required once, synchronously: parsing a spec stays synchronous). */
function lib(): typeof Yaml {
  loaded ??= require('yaml') as typeof Yaml;
  return loaded;
}

/** yaml's isMap. */
export function isMap<K = unknown, V = unknown>(node: unknown): node is YAMLMap<K, V> {
  return lib().isMap(node);
}

/** yaml's isScalar. */
export function isScalar<T = unknown>(node: unknown): node is Scalar<T> {
  return lib().isScalar(node);
}

/** yaml's isSeq. */
export function isSeq<T = unknown>(node: unknown): node is YAMLSeq<T> {
  return lib().isSeq(node);
}

/** yaml's parseDocument. */
export const parseDocument: typeof Yaml.parseDocument = ((...args: Parameters<typeof Yaml.parseDocument>) =>
  lib().parseDocument(...args)) as typeof Yaml.parseDocument;

/** A new yaml LineCounter. */
export function newLineCounter(): LineCounter {
  return new (lib().LineCounter)();
}
