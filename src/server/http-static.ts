/**
 * Files outside /v1: the web app (dist/web/ as `npm run build` writes it, or `--static DIR`),
 * or a placeholder page when it is not built; and the OpenAPI document at /v1/openapi.yaml.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { HttpError } from './http-errors.js';
import { sendError, sendText } from './http-io.js';
import type { Route } from './http-router.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

const PLACEHOLDER = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Periscope</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto">
<h1>Periscope server</h1>
<p>The web app is not built in this installation: <code>npm run build</code> (which
<code>npm ci</code> runs) builds it into <code>dist/web/</code>. The HTTP API is under <code>/v1</code>
(<a href="/v1/openapi.yaml">OpenAPI document</a>, <a href="/v1/health">health</a>);
the CLI talks to it with <code>--server</code>.</p>
</body></html>
`;

/**
 * Headers of the app's HTML: scripts only from this server (an injected script tag cannot
 * run, so it cannot act with the session); no framing; nothing sent to other sites.
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** The repository (package) root, found upward from this file (works from src/ and dist/src/). */
export function packageRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** Where the OpenAPI document lives. */
export function openApiPath(): string {
  return join(packageRoot(), 'docs', 'openapi.yaml');
}

/** GET /v1/openapi.yaml: the API's description. */
export function openApiRoute(): Route {
  return {
    method: 'GET',
    path: '/v1/openapi.yaml',
    need: 'public',
    handle: ({ res }) => {
      let text: string;
      try {
        text = readFileSync(openApiPath(), 'utf8');
      } catch {
        throw new HttpError(404, 'not-found', 'the OpenAPI document is not installed with this server');
      }
      sendText(res, 200, 'application/yaml', text);
    },
  };
}

/** The built web app (`npm run build` writes dist/web/), when it is there. */
export function defaultWebRoot(): string | undefined {
  const dir = join(packageRoot(), 'dist', 'web');
  return existsSync(join(dir, 'index.html')) ? dir : undefined;
}

/**
 * Serves the web app from `root` for a GET: files under /assets/ (their names carry a hash of
 * their content, so they are cached for a year), and index.html for every other path (the
 * app's routes; revalidated on each load by its ETag). Without a root, a placeholder page.
 */
export async function serveStatic(
  root: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendError(
      res,
      new HttpError(405, 'method-not-allowed', `${req.method} is not allowed on ${url.pathname}`),
    );
    return;
  }
  if (url.pathname.startsWith('/v1/') || url.pathname === '/v1') {
    sendError(res, new HttpError(404, 'not-found', `no API route ${url.pathname}; see /v1/openapi.yaml`));
    return;
  }
  if (!root) {
    res.writeHead(200, {
      ...PAGE_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : PLACEHOLDER);
    return;
  }
  const base = resolve(root);
  if (url.pathname.startsWith('/assets/')) {
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      sendError(res, new HttpError(400, 'bad-request', 'malformed percent-encoding in the path'));
      return;
    }
    const file = resolve(join(base, rel));
    if (!file.startsWith(base + sep) || !existsSync(file) || !statSync(file).isFile()) {
      sendError(res, new HttpError(404, 'not-found', `no file ${url.pathname} (a page of an older build?)`));
      return;
    }
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  let page: Buffer;
  try {
    page = await readFile(join(base, 'index.html'));
  } catch {
    sendError(res, new HttpError(404, 'not-found', `no index.html in ${base}`));
    return;
  }
  const etag = `"${createHash('sha256').update(page).digest('base64url').slice(0, 22)}"`;
  const headers = { ...PAGE_HEADERS, etag, 'cache-control': 'no-cache' };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
  res.end(req.method === 'HEAD' ? undefined : page);
}
