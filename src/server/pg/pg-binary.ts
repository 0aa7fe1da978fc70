/**
 * PostgreSQL's binary formats, both ways: parameters a client sends in binary become text
 * for DuckDB, and result columns a client asks for in binary are encoded from DuckDB's
 * printed values. PostgreSQL's JDBC driver does both (its `binaryTransfer`, on by default):
 * `setInt`/`setLong`/… parameters typed by the OIDs of its Parse message, and binary results
 * for numbers and times once a statement has run `prepareThreshold` (5) times. The forms are
 * PostgreSQL's send/receive formats: big-endian integers and IEEE floats, one byte for bool,
 * UTF-8 for text, microseconds (days for dates) since 2000-01-01 for times.
 */
import { PgFault } from './pg-errors.js';
import { OID } from './pg-types.js';

/** Milliseconds from the Unix epoch to PostgreSQL's, 2000-01-01. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

function timestampText(micros: bigint, zone: boolean): string {
  const ms = Number(micros / 1000n) + PG_EPOCH_MS;
  const frac = Number(((micros % 1_000_000n) + 1_000_000n) % 1_000_000n);
  const iso = new Date(ms - (((ms % 1000) + 1000) % 1000)).toISOString().slice(0, 19).replace('T', ' ');
  return `${iso}.${String(frac).padStart(6, '0')}${zone ? '+00' : ''}`;
}

function sized(b: Buffer, n: number, oid: number): Buffer {
  if (b.length !== n)
    throw new PgFault('08P01', `a binary parameter of type ${oid} has ${b.length} bytes, not ${n}`);
  return b;
}

/** The text of a binary parameter of type `oid`. Throws 0A000 for a type not decoded here. */
export function binaryParamText(oid: number, b: Buffer): string {
  switch (oid) {
    case OID.bool:
      return sized(b, 1, oid)[0] ? 'true' : 'false';
    case OID.int2:
      return String(sized(b, 2, oid).readInt16BE(0));
    case OID.int4:
      return String(sized(b, 4, oid).readInt32BE(0));
    case OID.int8:
      return String(sized(b, 8, oid).readBigInt64BE(0));
    case OID.float4:
      return String(sized(b, 4, oid).readFloatBE(0));
    case OID.float8:
      return String(sized(b, 8, oid).readDoubleBE(0));
    case OID.text:
    case OID.varchar:
    case OID.json:
    case 0x13 /* name */:
    case 1042 /* bpchar */:
      return b.toString('utf8');
    case OID.timestamp:
      return timestampText(sized(b, 8, oid).readBigInt64BE(0), false);
    case OID.timestamptz:
      return timestampText(sized(b, 8, oid).readBigInt64BE(0), true);
    case OID.date:
      return new Date(PG_EPOCH_MS + sized(b, 4, oid).readInt32BE(0) * 86_400_000).toISOString().slice(0, 10);
    case OID.uuid: {
      const h = sized(b, 16, oid).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case OID.bytea:
      return `\\x${b.toString('hex')}`;
    default:
      throw new PgFault(
        '0A000',
        `binary parameters of type ${oid} are not supported; send this parameter in text format`,
      );
  }
}

const MICROS_PER_DAY = 86_400_000_000n;

/** A printed timestamp (`2024-01-01 12:00:00.25`, `…+00`, `…-04:56:02`) as microseconds since 2000-01-01. */
function timestampMicros(v: string): bigint | undefined {
  const m =
    /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([+-])(\d\d)(?::?(\d\d))?(?::(\d\d))?)?$/.exec(
      v,
    );
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const frac = BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6));
  // The offset, as PostgreSQL prints it in the session's zone: `+05`, `-03:30`, `+00:19:32`.
  const offsetS = m[8]
    ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0))
    : 0;
  return BigInt(ms - PG_EPOCH_MS - offsetS * 1000) * 1000n + frac;
}

function float(v: string): number {
  const l = v.toLowerCase();
  if (l === 'inf' || l === 'infinity') return Number.POSITIVE_INFINITY;
  if (l === '-inf' || l === '-infinity') return Number.NEGATIVE_INFINITY;
  return Number(v);
}

function fixed(n: number, write: (b: Buffer) => void): Buffer {
  const b = Buffer.allocUnsafe(n);
  write(b);
  return b;
}

/** Encodes DuckDB's printed value of a column in PostgreSQL's binary format. */
export type BinaryEncoder = (v: string) => Buffer;

function unencodable(oid: number, v: string): never {
  throw new PgFault(
    '22P02',
    `the value ${JSON.stringify(v.slice(0, 40))} of type ${oid} has no binary form here; ask for text results`,
  );
}

const ENCODERS: Record<number, BinaryEncoder> = {
  [OID.bool]: (v) => Buffer.from([v === 'true' || v === 't' ? 1 : 0]),
  [OID.int2]: (v) => fixed(2, (b) => b.writeInt16BE(Number(v))),
  [OID.int4]: (v) => fixed(4, (b) => b.writeInt32BE(Number(v))),
  [OID.int8]: (v) => fixed(8, (b) => b.writeBigInt64BE(BigInt(v))),
  [OID.float4]: (v) => fixed(4, (b) => b.writeFloatBE(float(v))),
  [OID.float8]: (v) => fixed(8, (b) => b.writeDoubleBE(float(v))),
  [OID.text]: (v) => Buffer.from(v, 'utf8'),
  [OID.varchar]: (v) => Buffer.from(v, 'utf8'),
  [OID.json]: (v) => Buffer.from(v, 'utf8'),
  [OID.timestamp]: (v) => {
    const us = timestampMicros(v) ?? unencodable(OID.timestamp, v);
    return fixed(8, (b) => b.writeBigInt64BE(us));
  },
  [OID.timestamptz]: (v) => {
    const us = timestampMicros(v) ?? unencodable(OID.timestamptz, v);
    return fixed(8, (b) => b.writeBigInt64BE(us));
  },
  [OID.date]: (v) => {
    const us = timestampMicros(`${v} 00:00:00`) ?? unencodable(OID.date, v);
    return fixed(4, (b) => b.writeInt32BE(Number(us / MICROS_PER_DAY)));
  },
  [OID.uuid]: (v) =>
    /^[0-9a-f-]{36}$/i.test(v) ? Buffer.from(v.replace(/-/g, ''), 'hex') : unencodable(OID.uuid, v),
};

/** The binary encoder of a column type; throws 0A000 for a type sent only as text here. */
export function binaryEncoder(oid: number, column: string): BinaryEncoder {
  const e = ENCODERS[oid];
  if (!e)
    throw new PgFault(
      '0A000',
      `binary results of type ${oid} (column "${column}") are not supported; ask for this column in text format`,
    );
  return e;
}
