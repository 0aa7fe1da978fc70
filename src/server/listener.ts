/**
 * The server's listening socket: plain HTTP, or HTTPS with the certificate of a TlsMaterial
 * (reloaded in place: connections made after a reload get the new certificate). On an HTTPS
 * port, a client that speaks plain HTTP gets a plain-HTTP 400 whose JSON error says to use
 * https://, instead of a dropped connection: the first byte of a TLS connection is a
 * handshake record (0x16), of an HTTP request a letter.
 */
import { createServer as createHttpServer, type Server as HttpServer, type RequestListener } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { TlsMaterial } from './tls-material.js';

/** A server that listens: the HTTP(S) server that handles requests and upgrades, and the socket that accepts. */
export interface Listener {
  /** Where 'request', 'upgrade' and 'clientError' are handled. */
  readonly http: HttpServer | HttpsServer;
  /** What listens (the HTTP server itself, or the first-byte sniffer in front of HTTPS). */
  readonly accept: NetServer;
  readonly scheme: 'http' | 'https';
  /** Ends every connection, also those still waiting for their first byte. */
  closeAll(): void;
}

const TLS_HANDSHAKE = 0x16;

/**
 * How long an idle kept-alive connection stays open, ms: longer than clients keep theirs (Node's
 * fetch 4 s, the CLI's), so that the client closes first. At Node's default of 5 s the server
 * closed a connection just as a client whose event loop had stalled for seconds sent its next
 * request on it, which failed with ECONNRESET ("fetch failed": the server fuzz test at load 30;
 * reproduced with a 6 s stall between two requests).
 */
const KEEP_ALIVE_MS = 65_000;
const FIRST_BYTE_TIMEOUT_MS = 30_000;

function answerPlainOnTls(socket: Socket, head: Buffer): void {
  const host = /\r\nhost:[ \t]*([^\r\n]+)/i.exec(head.toString('latin1'))?.[1]?.trim();
  const where = host && /^[\w.:[\]-]{1,300}$/.test(host) ? `https://${host}` : 'https://';
  const body = JSON.stringify({
    error: {
      code: 'tls-required',
      message: `this Periscope server speaks HTTPS only: use ${where} (agents: --server ${where}; a private CA goes in --ca or PERISCOPE_CA)`,
    },
  });
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Creates the listener; with `tls`, HTTPS whose certificate follows the material's reloads. */
export function createListener(handler: RequestListener, tls?: TlsMaterial): Listener {
  if (!tls) {
    const http = createHttpServer(handler);
    http.keepAliveTimeout = KEEP_ALIVE_MS;
    return { http, accept: http, scheme: 'http', closeAll: () => http.closeAllConnections() };
  }
  const https = createHttpsServer(tls.current.options, handler);
  https.keepAliveTimeout = KEEP_ALIVE_MS;
  tls.watch((next) => https.setSecureContext(next.options));
  const sniffing = new Set<Socket>();
  const accept = createNetServer((socket) => {
    sniffing.add(socket);
    socket.on('close', () => sniffing.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('data', (head: Buffer) => {
      sniffing.delete(socket);
      socket.setTimeout(0);
      socket.pause();
      if (head[0] !== TLS_HANDSHAKE) {
        answerPlainOnTls(socket, head);
        return;
      }
      // tls.TLSSocket feeds bytes already read from the socket (its readable buffer) to OpenSSL.
      socket.unshift(head);
      https.emit('connection', socket);
    });
  });
  accept.on('close', () => tls.close());
  const closeAll = (): void => {
    https.closeAllConnections();
    for (const s of sniffing) s.destroy();
  };
  return { http: https, accept, scheme: 'https', closeAll };
}
