/**
 * The few XML documents the S3 client reads and writes: a ListObjectsV2 page, an error, the
 * DeleteObjects request and its per-key errors. S3's answers are flat and machine-written, so
 * elements are found by name; text is unescaped (the five entities and numeric references).
 */

/** One page of a ListObjectsV2 answer. */
export interface ListPage {
  readonly objects: ReadonlyArray<{ readonly key: string; readonly size: number }>;
  /** Set when more pages follow. */
  readonly nextToken: string | undefined;
}

/** An S3 error document's code and message (empty when the body had none, e.g. a HEAD). */
export interface S3ErrorBody {
  readonly code: string;
  readonly message: string;
}

/** Reads a ListObjectsV2 page. */
export function parseListPage(xml: string): ListPage {
  // Asked with encoding-type=url (XML 1.0 cannot carry every key); a service that ignored it says nothing.
  const encoded = text(xml, 'EncodingType') === 'url';
  const objects = elements(xml, 'Contents').map((c) => ({
    key: encoded ? urlDecode(text(c, 'Key') ?? '') : (text(c, 'Key') ?? ''),
    size: Number(text(c, 'Size') ?? '0'),
  }));
  const truncated = text(xml, 'IsTruncated') === 'true';
  const nextToken = truncated ? text(xml, 'NextContinuationToken') : undefined;
  return { objects, nextToken };
}

/** Reads an error document (`<Error><Code>…</Code><Message>…</Message></Error>`). */
export function parseError(xml: string): S3ErrorBody {
  return { code: text(xml, 'Code') ?? '', message: text(xml, 'Message') ?? '' };
}

/** The per-key failures a DeleteObjects answer lists (quiet mode lists only those). */
export function parseDeleteErrors(xml: string): Array<{ key: string; code: string; message: string }> {
  return elements(xml, 'Error').map((e) => ({
    key: text(e, 'Key') ?? '',
    code: text(e, 'Code') ?? '',
    message: text(e, 'Message') ?? '',
  }));
}

/** The DeleteObjects request body for full keys, quiet (only failures answered). */
export function deleteBody(keys: readonly string[]): string {
  const objects = keys.map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${objects}</Delete>`;
}

/** Whether XML 1.0 can carry `text` at all (it has no way to write most control characters). */
export function xmlCanCarry(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly what XML 1.0 refuses
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(text);
}

// Form encoding as S3 writes it (space as +); text that is not valid encoding is kept as it came.
function urlDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"'\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function elements(xml: string, name: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, 'g');
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[1] ?? '');
  return out;
}

function text(xml: string, name: string): string | undefined {
  const re = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>|<${name}(?:\\s[^>]*)?/>`);
  const m = re.exec(xml);
  return m ? unescapeXml(m[1] ?? '') : undefined;
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#')
      return String.fromCodePoint(e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e] ?? '';
  });
}
