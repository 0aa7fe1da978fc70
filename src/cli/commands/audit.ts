/**
 * `periscope audit [--since T] [--until T] [--action A] [--actor NAME] [--limit N] [--json] [--export]`:
 * the audit log of a server (its admin API) or of a data directory (read on this machine).
 */
import { parseAuditParams } from '../../api/requests.js';
import type { AuditResponse } from '../../api/responses.js';
import { AuditLog } from '../../store/audit-log.js';
import type { AuditEntry, AuditFilter } from '../../store/audit-types.js';
import { AUDIT_ACTIONS } from '../../store/audit-types.js';
import { ApiClient } from '../api-client.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption, listOption, textOption } from '../options.js';
import { out, printJson, renderTable } from '../output.js';
import { SERVER_OR_LOCAL_OPTIONS, WHERE_RULE, whereTo } from '../target.js';

/** What an entry acted on, in one short line. */
function what(e: AuditEntry): string {
  const d = e.details as Record<string, unknown>;
  const sql = d.sql as { text?: string; truncatedFrom?: number } | undefined;
  switch (e.action) {
    case 'snapshot':
      return `snapshot ${d.snapshotId ?? '-'} of "${d.selector ?? ''}" (${Array.isArray(d.processes) ? d.processes.length : 0} processes)`;
    case 'query':
      return `${d.links ? `links ${d.links}` : (sql?.text ?? '').replace(/\s+/g, ' ').slice(0, 80)} → ${d.rowCount ?? '-'} rows`;
    case 'spec.set':
      return `spec ${d.source ?? ''}${d.version !== undefined ? ` → version ${d.version}` : ''}`;
    case 'token.create':
    case 'token.revoke':
    case 'token.rotate':
      return `${d.role ?? ''} token ${d.id ?? ''} (${d.name ?? ''})`;
    case 'token.programs':
      return `${d.role ?? ''} token ${d.id ?? ''} (${d.name ?? ''}) → programs ${Array.isArray(d.programs) ? d.programs.join('; ') : 'all'}`;
    case 'retention.delete':
      return `${Array.isArray(d.snapshotIds) ? d.snapshotIds.length : 0} snapshots older than ${d.maxAge ?? '?'}`;
    case 'denied':
      return `${d.method ?? ''} ${d.path ?? ''}`;
    default:
      return d.export ? 'export' : 'list';
  }
}

export const auditCommand = defineCommand({
  name: 'audit',
  summary: summaryOf('audit'),
  args: '',
  options: {
    since: { type: 'string', value: 'TIME', help: 'entries at or after this ISO date or time' },
    until: { type: 'string', value: 'TIME', help: 'entries at or before this ISO date or time' },
    action: {
      type: 'string',
      multiple: true,
      value: 'ACTION',
      help: `only these actions (repeatable or comma-separated): ${AUDIT_ACTIONS.join(', ')}`,
    },
    actor: { type: 'string', value: 'NAME', help: "only this token's actions (its name or id)" },
    limit: { type: 'string', value: 'N', help: 'only the newest N entries' },
    json: { type: 'boolean', help: 'print JSON (entries and the integrity check)' },
    export: { type: 'boolean', help: 'print the whole log as stored, one JSON entry per line' },
    ...SERVER_OR_LOCAL_OPTIONS,
    token: {
      ...SERVER_OR_LOCAL_OPTIONS.token,
      help: 'on a server: an admin token (default $PERISCOPE_TOKEN)',
    },
  },
  details:
    'Every snapshot, query (its text and row count), spec change, token created, revoked or\n' +
    'rotated, retention deletion, refused request and reading of the log itself is recorded with\n' +
    'the time, the token and the source address. The log is append-only; each entry holds the\n' +
    'SHA-256 of the line before it, and the listing says whether that chain holds.\n' +
    `${WHERE_RULE} On a server it needs an admin token.\n\n` +
    'Examples:\n  periscope audit --since 2026-12-01 --action snapshot,query\n' +
    '  periscope audit --export > audit-$(date +%F).jsonl',
  parse(values) {
    const q = new URLSearchParams();
    for (const name of ['since', 'until', 'actor', 'limit']) {
      const v = textOption(values, name);
      if (v !== undefined) q.set(name, v);
    }
    for (const a of listOption(values, 'action')) q.append('action', a);
    const filter: AuditFilter = parseAuditParams(q);
    return {
      filter,
      where: whereTo(values),
      json: flagOption(values, 'json'),
      exportAll: flagOption(values, 'export'),
    };
  },
  async run({ filter, where, json, exportAll }) {
    let answer: AuditResponse;
    if (where.kind === 'server') {
      const c = new ApiClient(where.target);
      if (exportAll) return void process.stdout.write(await c.auditExport());
      answer = await c.audit(filter);
    } else {
      const log = new AuditLog(where.dataDir);
      if (exportAll) return void process.stdout.write(log.raw());
      answer = { ...log.list(filter), integrity: log.verify() };
    }
    if (json) return await printJson(answer);
    if (!answer.integrity.ok)
      process.stderr.write(
        `warning: the audit log's hash chain breaks at line ${answer.integrity.brokenAtLine}${answer.integrity.file && answer.integrity.file !== 'audit.jsonl' ? ` of ${answer.integrity.file}` : ''}: a line was edited or removed\n`,
      );
    if (answer.entries.length === 0) return out('no audit entries match');
    out(
      renderTable(
        ['SEQ', 'TIME', 'ACTOR', 'SOURCE', 'ACTION', 'OUTCOME', 'WHAT'],
        answer.entries.map((e) => [
          String(e.seq),
          e.at,
          e.actor.name,
          e.source,
          e.action,
          e.outcome,
          what(e),
        ]),
      ),
    );
  },
});
