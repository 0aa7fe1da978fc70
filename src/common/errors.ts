/** Error kinds a user can act on; each message says what went wrong and what to do. */
export type ErrorKind =
  | 'not-found'
  | 'not-elf'
  | 'unsupported'
  | 'truncated'
  | 'corrupt'
  | 'stripped'
  | 'not-go'
  | 'no-such-symbol'
  | 'bad-spec'
  | 'permission'
  | 'timeout'
  | 'bad-usage';

/** An expected failure with a one-line, user-facing message (never a stack trace). */
export class PeriscopeError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = 'PeriscopeError';
  }
}

/** A malformed byte range in a named section: says where, so the reader can be fixed or the file blamed. */
export class FormatError extends PeriscopeError {
  readonly section: string;
  readonly offset: number;
  constructor(section: string, offset: number, message: string) {
    super('corrupt', `${section} at offset 0x${offset.toString(16)}: ${message}`);
    this.section = section;
    this.offset = offset;
    this.name = 'FormatError';
  }
}

/**
 * Turns any thrown value into a one-line message for the CLI. A RangeError that is not a
 * PeriscopeError is ours (V8's string or array limits, a bad index): it is reported as it is,
 * never blamed on the user's input; readers of bytes throw FormatError for what they reject.
 */
export function describeError(err: unknown): string {
  if (err instanceof PeriscopeError) return err.message;
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}
