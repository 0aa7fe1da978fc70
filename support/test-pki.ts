/**
 * A throw-away public key infrastructure for TLS tests, made with the machine's `openssl`: CAs,
 * server certificates for 127.0.0.1 and localhost, client certificates, and their pins.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spkiPin } from '../src/common/tls-client.js';

/** A certificate and its key, as files. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
  /** `sha256/…` of its public key. */
  readonly pin: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A directory of test certificates. */
export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'periscope-pki-'));
  private serial = 0;

  /** A self-signed CA named `name`. */
  ca(name: string): CertFiles {
    const cert = join(this.dir, `${name}.pem`);
    const key = join(this.dir, `${name}.key`);
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      this.dir,
    );
    return { cert, key, pin: pinOf(cert) };
  }

  /** A leaf certificate signed by `ca`: a server's (for 127.0.0.1 and localhost) or a client's. */
  leaf(ca: CertFiles, name: string, kind: 'server' | 'client'): CertFiles {
    const cert = join(this.dir, `${name}.pem`);
    const key = join(this.dir, `${name}.key`);
    const csr = join(this.dir, `${name}.csr`);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(
      ext,
      kind === 'server'
        ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
        : 'extendedKeyUsage=clientAuth\n',
    );
    openssl(
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        csr,
        '-subj',
        `/CN=${name}`,
      ],
      this.dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca.cert,
        '-CAkey',
        ca.key,
        '-set_serial',
        String(++this.serial + 1000),
        '-out',
        cert,
        '-days',
        '2',
        '-extfile',
        ext,
      ],
      this.dir,
    );
    return { cert, key, pin: pinOf(cert) };
  }
}

/** The pin of a PEM certificate file. */
export function pinOf(certFile: string): string {
  return spkiPin(new X509Certificate(readFileSync(certFile)));
}
