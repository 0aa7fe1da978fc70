/**
 * `SHOW TimeZone` (also `SHOW timezone`, `SHOW TIME ZONE`, `SHOW TRANSACTION ISOLATION LEVEL`), `SHOW server_version` and the
 * other settings this server reports, and `SHOW ALL`, answered as PostgreSQL answers them: a
 * column named as the setting is spelled, its value as text, the command tag `SHOW`. DuckDB's own `SHOW` (`SHOW
 * TABLES`, `SHOW goroutines`: a table's columns) is not one of these and runs in DuckDB.
 */
import type { Answer } from './pg-answer.js';
import { type ConnectionSettings, shownSetting, shownSettings } from './pg-settings.js';
import { textColumn } from './pg-types.js';

/** The answer to a SHOW of a setting this server reports (the connection's own from `c`), or of ALL; undefined for any other statement. */
export function showAnswer(sql: string, c: ConnectionSettings): Answer | undefined {
  const m = /^\s*show\s+(all|time\s+zone|transaction\s+isolation\s+level|[A-Za-z_]\w*)\s*;?\s*$/i.exec(sql);
  if (!m) return undefined;
  // JDBC's getTransactionIsolation asks `SHOW TRANSACTION ISOLATION LEVEL`.
  const name = /^transaction\s/i.test(m[1]!) ? 'transaction_isolation' : m[1]!.replace(/\s+/g, '');
  if (/^all$/i.test(name))
    return {
      tag: 'SHOW',
      columns: [textColumn('name'), textColumn('setting'), textColumn('description')],
      rows: shownSettings(c).map(([n, v]) => [n, v, n === 'TimeZone' ? "the session's time zone" : '']),
    };
  const setting = shownSetting(name, c);
  return setting ? { tag: 'SHOW', columns: [textColumn(setting[0])], rows: [[setting[1]]] } : undefined;
}
