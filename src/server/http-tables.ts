/** GET /v1/tables: the tables a query can name (built-in, function, derived) with their columns. */
import { parseTablesParams } from '../api/requests.js';
import type { TableKind, TablesResponse, TableView } from '../api/responses.js';
import { effectiveSpecOfText } from '../spec/effective-spec.js';
import { BUILTIN_TABLES } from '../store/schema.js';
import type { ServerContext } from './context.js';
import { sendJson } from './http-io.js';
import type { Route } from './http-router.js';

/** GET /v1/tables. */
export function tableRoutes(ctx: ServerContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/tables',
      need: 'user',
      handle: async ({ res, url }) => {
        const { snapshot } = parseTablesParams(url.searchParams);
        const current = await ctx.store.currentSpec();
        const spec = effectiveSpecOfText(current?.yaml ?? '', 'spec');
        const kinds = new Map<string, { kind: TableKind; function?: string; sql?: string }>();
        for (const t of BUILTIN_TABLES) kinds.set(t, { kind: 'built-in' });
        for (const f of spec.functions) kinds.set(f.table, { kind: 'function', function: f.function });
        for (const d of spec.derived) kinds.set(d.name, { kind: 'derived', sql: d.sql });
        const result = await ctx.store.query(
          "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_catalog = 'temp' ORDER BY table_name, ordinal_position",
          snapshot !== undefined ? { snapshot } : { latest: true },
        );
        const columns = new Map<string, { name: string; type: string }[]>();
        for (const [table, column, type] of result.rows) {
          const list = columns.get(String(table)) ?? [];
          list.push({ name: String(column), type: String(type) });
          columns.set(String(table), list);
        }
        const tables: TableView[] = [];
        for (const [name, k] of kinds) {
          const cols = columns.get(name);
          if (cols) tables.push({ name, ...k, columns: cols });
        }
        const order: TableKind[] = ['built-in', 'function', 'derived'];
        tables.sort(
          (a, b) =>
            order.indexOf(a.kind) - order.indexOf(b.kind) ||
            (a.kind === 'built-in' ? 0 : a.name.localeCompare(b.name)),
        );
        sendJson(res, 200, { tables, warnings: result.warnings } satisfies TablesResponse);
      },
    },
  ];
}
