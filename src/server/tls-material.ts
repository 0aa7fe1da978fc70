/**
 * The server's certificate and key (and, for mutual TLS, the CA its agents' certificates must
 * chain to), read from files and read again when a file changes, so a renewed certificate is
 * served without a restart. Files are polled by stat (device, inode, size, mtime), which also
 * sees a file replaced by rename or a Kubernetes secret's symlink swap, where file watches miss
 * events. A change that does not load (the key written after the certificate, a half-written
 * file) is logged once and the previous material stays in use until a change that loads.
 * The same material can serve every TLS port of the server (HTTP and agents now; others later).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import { PeriscopeError } from '../common/errors.js';

/** Where the server's TLS files are. */
export interface ServerTlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA (PEM) that agents' client certificates must chain to: agents without one are refused. */
  readonly clientCaFile?: string;
  /** How often the files are looked at, ms (default 5000). */
  readonly reloadIntervalMs?: number;
}

/** What was loaded: the options of a secure context, and facts to log. */
export interface LoadedTls {
  readonly options: SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean };
  readonly subject: string;
  readonly validTo: string;
  readonly fingerprint256: string;
}

function stamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new PeriscopeError('not-found', `cannot read the ${what} ${file}: ${(e as Error).message}`);
  }
}

/** Reads and checks the files once: the certificate parses, the key is its key, the client CA parses. */
export function loadServerTls(config: ServerTlsConfig): LoadedTls {
  const cert = read(config.certFile, 'TLS certificate');
  const key = read(config.keyFile, 'TLS key');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (e) {
    throw new PeriscopeError(
      'bad-usage',
      `${config.certFile} is not a PEM certificate (${(e as Error).message}); give --tls-cert the server's certificate (its chain may follow it)`,
    );
  }
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(key));
  } catch (e) {
    throw new PeriscopeError(
      'bad-usage',
      `${config.keyFile} is not a PEM private key (${(e as Error).message}); give --tls-key the certificate's unencrypted key`,
    );
  }
  if (!matches)
    throw new PeriscopeError(
      'bad-usage',
      `the key ${config.keyFile} is not the key of the certificate ${config.certFile}; give the pair that belongs together`,
    );
  let ca: Buffer | undefined;
  if (config.clientCaFile) {
    ca = read(config.clientCaFile, 'client CA file');
    try {
      new X509Certificate(ca);
    } catch (e) {
      throw new PeriscopeError(
        'bad-usage',
        `${config.clientCaFile} is not a PEM certificate (${(e as Error).message}); give --tls-client-ca the CA that signs agents' certificates`,
      );
    }
  }
  return {
    options: {
      cert,
      key,
      ...(ca ? { ca } : {}),
      // Asked, not demanded at the handshake: the HTTP API stays open to clients without one;
      // the agent endpoint refuses an upgrade whose certificate did not verify (agent-endpoint.ts).
      requestCert: ca !== undefined,
      rejectUnauthorized: false,
    },
    subject: leaf.subject.replace(/\n/g, ', '),
    validTo: leaf.validTo,
    fingerprint256: leaf.fingerprint256,
  };
}

/** The server's TLS material, watched for changes. */
export class TlsMaterial {
  private loaded: LoadedTls;
  private stamps: string;
  private failedStamps = '';
  private timer: NodeJS.Timeout | undefined;

  /** Loads the files now (throws a PeriscopeError saying what is wrong). */
  constructor(
    readonly config: ServerTlsConfig,
    private readonly log: (line: string) => void,
  ) {
    this.stamps = this.currentStamps();
    this.loaded = loadServerTls(config);
  }

  /** What is served now. */
  get current(): LoadedTls {
    return this.loaded;
  }

  /** Whether agents must present a client certificate. */
  get requiresClientCert(): boolean {
    return this.config.clientCaFile !== undefined;
  }

  /** Starts polling the files; `apply` gets the new material after each change that loads. */
  watch(apply: (tls: LoadedTls) => void): void {
    this.timer = setInterval(() => this.check(apply), this.config.reloadIntervalMs ?? 5000);
    this.timer.unref();
  }

  /** Looks at the files once; reloads when they changed. True when new material was applied. */
  check(apply: (tls: LoadedTls) => void): boolean {
    const now = this.currentStamps();
    if (now === this.stamps || now === this.failedStamps) return false;
    let next: LoadedTls;
    try {
      next = loadServerTls(this.config);
    } catch (e) {
      this.failedStamps = now;
      this.log(
        `TLS files changed but do not load (${(e as Error).message}); still serving ${this.loaded.subject} until they do`,
      );
      return false;
    }
    this.stamps = now;
    this.failedStamps = '';
    this.loaded = next;
    apply(next);
    this.log(
      `TLS certificate reloaded: ${next.subject}, valid until ${next.validTo}, SHA-256 ${next.fingerprint256}`,
    );
    return true;
  }

  /** Stops polling. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private currentStamps(): string {
    const { certFile, keyFile, clientCaFile } = this.config;
    return [certFile, keyFile, clientCaFile ?? ''].map((f) => (f ? stamp(f) : '')).join('|');
  }
}
