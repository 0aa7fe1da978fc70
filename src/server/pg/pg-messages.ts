/**
 * PostgreSQL protocol 3.0 messages: framing of what a client sends (the untyped startup
 * packet, then typed messages) and building what the server answers. Field lengths are byte
 * lengths of the UTF-8 text, never string lengths.
 */

import { MAX_BODY } from '../http-io.js';

/** Protocol 3.0, SSLRequest, GSSENCRequest and CancelRequest codes of an untyped first packet. */
export const PROTOCOL_3 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

/** The largest message a client may send (a query text or a Bind with its parameters): POST /v1/query's body limit. */
export const MAX_MESSAGE_BYTES = MAX_BODY;

/** One message from the client: its type byte (0 for the untyped startup packets) and body. */
export interface ClientMessage {
  readonly type: number;
  readonly body: Buffer;
}

/** Splits the bytes a client sends into messages; `startup` while the untyped first packet is awaited. */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);
  startup = true;

  /** Adds bytes; returns the complete messages, or a string saying why the stream is malformed. */
  push(chunk: Buffer): ClientMessage[] | string {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: ClientMessage[] = [];
    for (;;) {
      const head = this.startup ? 4 : 5;
      if (this.buf.length < head) return out;
      const type = this.startup ? 0 : this.buf[0]!;
      const len = this.buf.readInt32BE(head - 4);
      if (this.startup && len > 10_000)
        return 'protocol violation: this is not a PostgreSQL startup packet (is an HTTP client talking to the PostgreSQL port?)';
      if (len > MAX_MESSAGE_BYTES)
        return `a message of ${len} bytes is over the limit of ${MAX_MESSAGE_BYTES} bytes (as for POST /v1/query)`;
      if (len < 4) return `protocol violation: message length ${len} is out of range`;
      const total = head - 4 + len;
      if (this.buf.length < total) return out;
      out.push({ type, body: this.buf.subarray(head, total) });
      this.buf = this.buf.subarray(total);
      if (this.startup) {
        const code = len >= 8 ? out[out.length - 1]!.body.readInt32BE(0) : 0;
        // An SSLRequest is answered before anything else is read: the socket may turn TLS.
        if (code === SSL_REQUEST) return out;
        // Answered 'N', GSSENCRequest is followed by another untyped packet.
        if (code !== GSSENC_REQUEST) this.startup = false;
      }
    }
  }
}

/** Reads fields of a message body in order. */
export class BodyReader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  /** A NUL-terminated string. */
  cstring(): string {
    const end = this.b.indexOf(0, this.at);
    if (end < 0) throw new Error('a string field is not terminated');
    const s = this.b.toString('utf8', this.at, end);
    this.at = end + 1;
    return s;
  }
  /** A 16-bit integer. */
  int16(): number {
    const v = this.b.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  /** A 32-bit integer. */
  int32(): number {
    const v = this.b.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  /** `n` bytes. */
  bytes(n: number): Buffer {
    if (this.at + n > this.b.length) throw new Error('a field runs past the end of its message');
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
}

/** Builds one server message of type `type` from its fields. */
export class MessageWriter {
  private parts: Buffer[] = [];
  constructor(private readonly type: string) {}
  /** A NUL-terminated string. */
  cstring(s: string): this {
    this.parts.push(Buffer.from(s, 'utf8'), Buffer.from([0]));
    return this;
  }
  /** A 16-bit integer. */
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  /** A 32-bit integer. */
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v | 0);
    this.parts.push(b);
    return this;
  }
  /** Raw bytes. */
  bytes(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  /** The framed message. */
  done(): Buffer {
    const body = Buffer.concat(this.parts);
    const head = Buffer.alloc(5);
    head.write(this.type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  }
}

/** A column of a RowDescription. */
export interface PgColumn {
  readonly name: string;
  readonly oid: number;
  readonly size: number;
}

/** RowDescription: every column in text format, or in the format a Bind asked for (`format(i)`: 0 text, 1 binary). */
export function rowDescription(
  columns: readonly PgColumn[],
  format: (i: number) => number = () => 0,
): Buffer {
  const w = new MessageWriter('T').int16(columns.length);
  columns.forEach((c, i) => {
    w.cstring(c.name).int32(0).int16(0).int32(c.oid).int16(c.size).int32(-1).int16(format(i));
  });
  return w.done();
}

/** ErrorResponse (or NoticeResponse with type 'N'). */
export function errorResponse(code: string, message: string, severity = 'ERROR', type = 'E'): Buffer {
  return new MessageWriter(type)
    .bytes(Buffer.from('S'))
    .cstring(severity)
    .bytes(Buffer.from('V'))
    .cstring(severity)
    .bytes(Buffer.from('C'))
    .cstring(code)
    .bytes(Buffer.from('M'))
    .cstring(message)
    .bytes(Buffer.from([0]))
    .done();
}

/** A message with no fields ('1' ParseComplete, '2' BindComplete, '3' CloseComplete, 'I', 'n', 's'). */
export function empty(type: string): Buffer {
  return new MessageWriter(type).done();
}

/** CommandComplete with its tag. */
export function commandComplete(tag: string): Buffer {
  return new MessageWriter('C').cstring(tag).done();
}

/** ReadyForQuery with the transaction status: idle ('I'), in a block ('T'), in a failed block ('E'). */
export function readyForQuery(status: 'I' | 'T' | 'E' = 'I'): Buffer {
  return new MessageWriter('Z').bytes(Buffer.from(status)).done();
}

/** ParameterStatus. */
export function parameterStatus(name: string, value: string): Buffer {
  return new MessageWriter('S').cstring(name).cstring(value).done();
}

/** AuthenticationCleartextPassword (3) or AuthenticationOk (0). */
export function authentication(code: 0 | 3): Buffer {
  return new MessageWriter('R').int32(code).done();
}

/** BackendKeyData: what a CancelRequest names. */
export function backendKeyData(pid: number, secret: number): Buffer {
  return new MessageWriter('K').int32(pid).int32(secret).done();
}

/** ParameterDescription: every parameter as text (OID 25). */
export function parameterDescription(count: number, oids: readonly number[] = []): Buffer {
  const w = new MessageWriter('t').int16(count);
  for (let i = 0; i < count; i++) w.int32(oids[i] ?? 25);
  return w.done();
}
