/**
 * GET /v1/spec/function: a function's lines and the variables live at each, read by an agent
 * from the binary (function-describe.ts), with the text of those lines when the source file
 * is readable on the server's machine (a developer's server, or sources deployed beside it).
 * Only `.go` files are read, and only the function's lines are sent.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { parseFunctionParams } from '../api/requests.js';
import type { FunctionResponse } from '../api/responses.js';
import type { FunctionLines } from '../snapshot/function-lines.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-errors.js';
import { sendJson } from './http-io.js';
import type { Route } from './http-router.js';
import { tokenFilter } from './program-scope.js';

/** Largest source file read for its lines. */
const MAX_SOURCE_BYTES = 4 << 20;

/** The text of the function's lines (from its declaration to its last statement), if the file is readable. */
export async function sourceLines(f: FunctionLines): Promise<Record<string, string> | undefined> {
  if (!isAbsolute(f.file) || !f.file.endsWith('.go') || f.lines.length === 0) return undefined;
  try {
    const st = await stat(f.file);
    if (!st.isFile() || st.size > MAX_SOURCE_BYTES) return undefined;
    const text = (await readFile(f.file, 'utf8')).split('\n');
    const first = Math.min(f.declLine ?? f.lines[0]!.line, f.lines[0]!.line);
    const last = f.lines[f.lines.length - 1]!.line;
    const out: Record<string, string> = {};
    for (let n = first; n <= last && n <= text.length; n++) out[n] = text[n - 1]!;
    return out;
  } catch {
    return undefined;
  }
}

/** The route. */
export function functionRoute(ctx: ServerContext): Route {
  return {
    method: 'GET',
    path: '/v1/spec/function',
    need: 'user',
    handle: async ({ res, url, token }) => {
      // The Spec view's question: the spec applies to every program, so, as for a spec check,
      // a token limited to some programs may not ask about any binary.
      if (tokenFilter(token))
        throw new HttpError(
          403,
          'forbidden',
          'this token is limited to some programs and the Spec view applies to every program; use an unlimited token',
        );
      const q = parseFunctionParams(url.searchParams);
      const { agentId, lines } = await ctx.functions.ask(q, await ctx.store.storedBinaries());
      const source = await sourceLines(lines);
      sendJson(res, 200, { ...lines, agentId, ...(source ? { source } : {}) } satisfies FunctionResponse);
    },
  };
}
