/** The pretty form of time.Duration values (the text itself is common/go-duration.ts). */

import { formatDuration } from '../../../common/go-duration.js';
import type { DwarfType } from '../../../dwarf/types.js';
import type { GoValue, Walk } from '../walk.js';

/** Pretty form of time.Duration: Go's String() text. */
export function prettyDuration(_w: Walk, _t: DwarfType, bytes: Uint8Array): GoValue | undefined {
  if (bytes.length !== 8) return undefined;
  return formatDuration(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigInt64(0, true));
}
