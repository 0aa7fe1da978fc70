/**
 * Periscope's version, written in one place: package.json, read once when this module loads
 * (the CLI, the agent's hello and the server's API report it). From dist/src/common/, the
 * package's root is three directories up, in a checkout and in an installed package alike.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The version of this Periscope (package.json's "version"). */
export const PERISCOPE_VERSION: string = (
  JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
