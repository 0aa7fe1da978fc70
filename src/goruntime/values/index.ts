/**
 * Go values read from a process's memory as JSON-able data, the entry of this room for the
 * layers below: the context decoding needs (binary, memory, load bias, limits), the value
 * type, and the socket behind a connection value (`socket.ts`). The expression room reaches further in (it builds on the decoders themselves).
 */
export {
  makeValueContext,
  type ValueContext,
  withLimits,
  withoutPretty,
  withRedaction,
} from './context.js';
export { decodeValue, decodeValueAt } from './decode.js';
export {
  DEFAULT_SECRET_NAMES,
  DEFAULT_SECRET_TYPES,
  isRedacted,
  type RedactionRules,
  Redactor,
  redactedLabelValue,
  redactedMark,
  redactLabels,
} from './redaction.js';
export {
  type Reach,
  type SocketEnd,
  type SocketResult,
  socketConnsBoxed,
  socketOf,
  socketReach,
} from './socket.js';
export type { GoValue } from './walk.js';
