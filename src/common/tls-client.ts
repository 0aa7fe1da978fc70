/**
 * What a client of a Periscope server (the agent, the CLI) trusts and presents over TLS: the
 * server's certificate checked against the system roots or a given CA, optionally pinned to
 * its public key, a client certificate for mutual TLS, and the rule that a token never goes
 * in clear to a machine other than this one unless the user says so. TLS failures become
 * messages that say what is wrong and what to do.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { type ConnectionOptions, checkServerIdentity, type PeerCertificate } from 'node:tls';
import { PeriscopeError } from './errors.js';

/** Files and settings of a client's TLS, as given by flags or environment variables. */
export interface ClientTlsConfig {
  /** PEM file of the CA (or CAs) that signed the server's certificate; replaces the system roots. */
  readonly caFile?: string;
  /** Pins of the server: a certificate's SHA-256 (hex) or a public key's `sha256/BASE64`; any one must match. */
  readonly pins?: readonly string[];
  /** PEM client certificate and key, for servers that require agents to present one (mTLS). */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Send a token over plain http:// or ws:// to a machine other than this one. */
  readonly insecurePlain?: boolean;
}

const SPKI_PIN_RE = /^sha256\/([A-Za-z0-9+/]{43}=)$/;
const CERT_PIN_RE = /^(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/;

/** The pin of a certificate's public key: `sha256/` and the base64 SHA-256 of its DER SubjectPublicKeyInfo. */
export function spkiPin(cert: X509Certificate): string {
  const der = cert.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256/${createHash('sha256').update(der).digest('base64')}`;
}

/** The SHA-256 of a whole certificate in `openssl x509 -fingerprint -sha256` form (AA:BB:…). */
export function certPin(cert: X509Certificate): string {
  return cert.fingerprint256;
}

/**
 * Checks a pin's spelling and returns it normalised: `sha256/BASE64` pins the public key (it
 * survives a renewal that keeps the key), 64 hex digits (colons optional) pin the certificate.
 */
export function checkPin(pin: string): string {
  const p = pin.trim();
  if (SPKI_PIN_RE.test(p)) return p;
  if (CERT_PIN_RE.test(p)) return (p.replace(/:/g, '').toUpperCase().match(/../g) ?? []).join(':');
  throw new PeriscopeError(
    'bad-usage',
    `pin "${pin}" is neither a certificate's SHA-256 (64 hex digits, as \`openssl x509 -in CERT -noout -fingerprint -sha256\` prints) nor a public key's sha256/BASE64 (\`openssl x509 -in CERT -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64\`)`,
  );
}

/** Whether a URL's host is this machine (a loopback address or `localhost`), where plain HTTP stays private. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * Refuses a plain-text URL (http:, ws:) to another machine unless allowed: the bearer token
 * would cross the network in clear. `what` names the option that gives the URL.
 */
export function requireTlsOffHost(url: URL, insecurePlain: boolean | undefined, what: string): void {
  if (url.protocol !== 'http:' && url.protocol !== 'ws:') return;
  if (insecurePlain || isLoopbackHost(url.hostname)) return;
  throw new PeriscopeError(
    'bad-usage',
    `${what} ${url.origin} is plain ${url.protocol.slice(0, -1)}:// to another machine: the token would travel in clear. ` +
      `Use https:// (the server takes --tls-cert and --tls-key), or allow plain text with --insecure-plain (or PERISCOPE_INSECURE_PLAIN=1) on a network you trust`,
  );
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new PeriscopeError('not-found', `cannot read the ${what} ${file}: ${(e as Error).message}`);
  }
}

/** The options of `tls.connect` (also taken by https.request and ws) for this configuration. */
export function clientTlsOptions(config: ClientTlsConfig): ConnectionOptions {
  const pins = (config.pins ?? []).map(checkPin);
  if ((config.certFile === undefined) !== (config.keyFile === undefined))
    throw new PeriscopeError('bad-usage', 'a client certificate needs both its certificate and its key file');
  const options: ConnectionOptions = {
    ...(config.caFile ? { ca: readPem(config.caFile, 'CA file') } : {}),
    ...(config.certFile ? { cert: readPem(config.certFile, 'client certificate') } : {}),
    ...(config.keyFile ? { key: readPem(config.keyFile, 'client key') } : {}),
  };
  if (pins.length === 0) return options;
  return {
    ...options,
    checkServerIdentity: (host: string, cert: PeerCertificate): Error | undefined => {
      const wrongName = checkServerIdentity(host, cert);
      if (wrongName) return wrongName;
      const x509 = new X509Certificate(cert.raw);
      const pin = spkiPin(x509);
      if (pins.includes(pin) || pins.includes(certPin(x509))) return undefined;
      const err = new Error(
        `the server's certificate (SHA-256 ${certPin(x509)}, public key ${pin}) is not the pinned one (${pins.join(', ')}): it was replaced, or this is not your server. If it was renewed on purpose, update the pin`,
      );
      (err as { code?: string }).code = 'ERR_PERISCOPE_PIN_MISMATCH';
      return err;
    },
  };
}

/** A client TLS configuration from the environment (`PERISCOPE_CA`, `PERISCOPE_PIN`, …), overridden by `given`. */
export function clientTlsFromEnv(
  given: ClientTlsConfig = {},
  env: NodeJS.ProcessEnv = process.env,
): ClientTlsConfig {
  const caFile = given.caFile ?? (env.PERISCOPE_CA || undefined);
  const pinText = env.PERISCOPE_PIN || undefined;
  const pins = given.pins?.length ? given.pins : pinText ? pinText.split(',').map((p) => p.trim()) : [];
  const certFile = given.certFile ?? (env.PERISCOPE_CLIENT_CERT || undefined);
  const keyFile = given.keyFile ?? (env.PERISCOPE_CLIENT_KEY || undefined);
  const allow = given.insecurePlain || /^(1|true|yes)$/i.test(env.PERISCOPE_INSECURE_PLAIN ?? '');
  return {
    ...(caFile ? { caFile } : {}),
    ...(pins.length ? { pins } : {}),
    ...(certFile ? { certFile } : {}),
    ...(keyFile ? { keyFile } : {}),
    ...(allow ? { insecurePlain: true } : {}),
  };
}

const UNTRUSTED =
  'its certificate is signed by a CA this client does not trust (or its chain lacks an intermediate); give that CA with --ca FILE or PERISCOPE_CA';

const TLS_HINTS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT:
    'its certificate is self-signed; give its certificate (or the CA that signed it) with --ca FILE or PERISCOPE_CA',
  SELF_SIGNED_CERT_IN_CHAIN: UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNTRUSTED,
  UNABLE_TO_GET_ISSUER_CERT: UNTRUSTED,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNTRUSTED,
  CERT_HAS_EXPIRED:
    'its certificate has expired; renew it on the server (the server reloads it without a restart)',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet; check the clocks of both machines',
  ERR_TLS_CERT_ALTNAME_INVALID:
    'its certificate is not for this host name; connect with a name the certificate lists (its subjectAltName), or reissue it',
  ERR_SSL_WRONG_VERSION_NUMBER:
    'it does not speak TLS there; use http:// (or ws://) for a server without --tls-cert, or check the port',
  ERR_SSL_PACKET_LENGTH_TOO_LONG:
    'it does not speak TLS there; use http:// (or ws://) for a server without --tls-cert, or check the port',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    'it requires a client certificate (mutual TLS); give one with --client-cert and --client-key',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE:
    'it refused the client certificate; give one signed by the CA of its --tls-client-ca',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'it refused the client certificate (signed by a CA it does not trust)',
};

/**
 * What a failed TLS connection means, as a sentence that ends with what to do; undefined when
 * the error is not about TLS.
 */
export function describeTlsError(err: unknown, origin: string): string | undefined {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code ?? '';
  const message = e?.message ?? e?.cause?.message ?? '';
  if (code === 'ERR_PERISCOPE_PIN_MISMATCH') return `${origin} failed the pin check: ${message}`;
  const hint =
    TLS_HINTS[code] ??
    (/wrong version number|packet length too long/i.test(message)
      ? TLS_HINTS.ERR_SSL_WRONG_VERSION_NUMBER
      : undefined);
  if (hint) return `TLS to ${origin} failed (${code || message.split('\n')[0]}): ${hint}`;
  if (/certificate|ssl|tls/i.test(`${code} ${message}`))
    return `TLS to ${origin} failed: ${message.split('\n')[0] || code}`;
  return undefined;
}
