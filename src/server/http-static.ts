/**
 * Files outside /v1: the web app from a directory (`--static DIR`), or a placeholder page
 * until the web app exists; and the OpenAPI document at /v1/openapi.yaml.
 */
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
<p>The web app is not installed here yet. The HTTP API is under <code>/v1</code>
(<a href="/v1/openapi.yaml">OpenAPI document</a>, <a href="/v1/health">health</a>);
the CLI talks to it with <code>--server</code>.</p>
</body></html>
`;

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

/** Serves a file of `root` for a GET (index.html for directories and unknown paths), or the placeholder. */
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
    sendText(res, 200, 'text/html', PLACEHOLDER);
    return;
  }
  const base = resolve(root);
  let rel: string;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    sendError(res, new HttpError(400, 'bad-request', 'malformed percent-encoding in the path'));
    return;
  }
  let file = resolve(join(base, rel));
  if (file !== base && !file.startsWith(base + sep)) {
    sendError(res, new HttpError(404, 'not-found', 'not found'));
    return;
  }
  if (!existsSync(file) || statSync(file).isDirectory()) {
    const index = join(existsSync(file) ? file : base, 'index.html');
    file = existsSync(index) ? index : join(base, 'index.html');
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch {
    sendError(res, new HttpError(404, 'not-found', `no file for ${url.pathname}`));
  }
}
