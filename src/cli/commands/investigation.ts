/**
 * `periscope investigation add NAME … | list | show NAME | close NAME`: standing
 * investigations on the server — "next time this happens, capture …". `add` builds the
 * definition from flags and/or a YAML file; `show` prints its firings (with their snapshots
 * and requests), what no longer resolves, and how to read its report in SQL.
 */
import type { InvestigationView } from '../../api/investigation-views.js';
import type { TriggerBody } from '../../api/investigations.js';
import { PeriscopeError } from '../../common/errors.js';
import { ApiClient } from '../api-client.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption, listOption, textOption } from '../options.js';
import { ago, out, printJson, renderTable } from '../output.js';
import { SERVER_OPTIONS, type ServerTarget, serverTarget } from '../target.js';
import { investigationFields } from './investigation-fields.js';

type Action =
  | { readonly action: 'add'; readonly body: Parameters<ApiClient['addInvestigation']>[0] }
  | { readonly action: 'list'; readonly all: boolean }
  | { readonly action: 'show' | 'close'; readonly ref: string };

function triggerText(t: TriggerBody): string {
  const [kind, v] = Object.entries(t)[0] ?? ['?', ''];
  if (typeof v === 'string') return `${kind} ${v}`;
  if (v === true || v === null) return kind;
  const parts = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${String(x)}`);
  return `${kind}${parts.length > 0 ? ` ${parts.join(' ')}` : ''}`;
}

function limitText(i: InvestigationView): string {
  const l = i.definition.limits;
  return l?.maxFires ? `${i.fires}/${l.maxFires}` : String(i.fires);
}

function listText(list: readonly InvestigationView[]): string {
  if (list.length === 0) return 'no open investigations; add one with periscope investigation add NAME …';
  const now = Date.now();
  return renderTable(
    ['ID', 'NAME', 'OWNER', 'STATE', 'FIRED', 'LAST', 'TRIGGERS'],
    list.map((i) => [
      String(i.id),
      i.name,
      i.owner,
      i.state,
      limitText(i),
      i.lastFiredAt ? ago(i.lastFiredAt, now) : '-',
      i.definition.triggers.map(triggerText).join('; '),
    ]),
  );
}

function showText(i: InvestigationView): string {
  const now = Date.now();
  const lines = [
    `investigation ${i.id} ${i.name} (${i.state}), owner ${i.owner}, since ${i.createdAt}`,
    ...(i.question ? [`question: ${i.question}`] : []),
    ...(i.notes ? [`notes: ${i.notes}`] : []),
    `triggers: ${i.definition.triggers.map(triggerText).join('; ')}`,
    `fired ${limitText(i)} times${i.lastFiredAt ? `, last ${ago(i.lastFiredAt, now)}` : ''}`,
    ...(i.closedAt ? [`closed ${i.closedAt} by ${i.closedBy ?? '?'}`] : []),
    ...(i.lastProblem ? [`last problem: ${i.lastProblem}`] : []),
  ];
  for (const u of i.unresolved ?? [])
    lines.push(`probe ${u.probe} no longer resolves on ${u.executable} (agent ${u.agentId}): ${u.error}`);
  for (const m of i.missingTraces ?? [])
    lines.push(`${m.trigger} trigger: ${m.text}; it fires again once a spec has the trace`);
  for (const m of i.missingProbes ?? [])
    lines.push(`probe trigger: ${m.text}; it fires again once a spec has the probe`);
  const f = i.firings ?? [];
  if (f.length > 0) {
    lines.push('');
    lines.push(
      renderTable(
        ['FIRING', 'WHEN', 'TRIGGER', 'PROCESS', 'REQUEST', 'SNAPSHOT', 'REPORT', 'WEBHOOK', 'ERROR'],
        f.map((x) => [
          String(x.id),
          ago(x.firedAt, now),
          x.trigger,
          x.process ? `${x.process}${x.goroutine !== undefined ? ` g${x.goroutine}` : ''}` : '-',
          x.requestId ?? '-',
          x.snapshotId !== undefined ? String(x.snapshotId) : '-',
          String(x.reportRows),
          x.webhook ?? '-',
          x.error ?? '',
        ]),
      ),
    );
    lines.push(
      '',
      `the report: periscope query --all "SELECT firing_id, query, row FROM investigation_reports WHERE investigation_id = ${i.id} ORDER BY firing_id DESC, query, row_number"`,
    );
  }
  return lines.join('\n');
}

async function run(target: ServerTarget, o: Action & { readonly json: boolean }): Promise<void> {
  const client = new ApiClient(target);
  if (o.action === 'list') {
    const r = await client.investigations(o.all);
    return o.json ? await printJson(r) : out(listText(r));
  }
  const r =
    o.action === 'add'
      ? await client.addInvestigation(o.body)
      : o.action === 'show'
        ? await client.investigation(o.ref)
        : await client.closeInvestigation(o.ref);
  if (o.json) return await printJson(r);
  if (o.action === 'add')
    out(`investigation ${r.id} ${r.name} added: ${r.definition.triggers.map(triggerText).join('; ')}`);
  else if (o.action === 'close') out(`investigation ${r.id} ${r.name} closed after ${r.fires} firings`);
  else out(showText(r));
}

export const investigationCommand = defineCommand({
  name: 'investigation',
  summary: summaryOf('investigation'),
  args: 'add NAME … | list | show NAME | close NAME',
  options: {
    file: { type: 'string', value: 'FILE', help: 'add: the definition in YAML or JSON (flags add to it)' },
    question: { type: 'string', value: 'TEXT', help: 'add: the open question' },
    notes: { type: 'string', value: 'TEXT', help: 'add: notes' },
    every: {
      type: 'string',
      value: 'DURATION',
      help: 'add: snapshot on a schedule, e.g. 5m (a scheduled snapshot)',
    },
    select: { type: 'string', value: 'SELECTOR', help: 'add: which processes the schedule snapshots' },
    keep: { type: 'string', value: 'N', help: 'add: keep the newest N scheduled snapshots' },
    'keep-for': {
      type: 'string',
      value: 'DURATION',
      help: 'add: delete scheduled snapshots older than this',
    },
    when: {
      type: 'string',
      multiple: true,
      value: 'SQL',
      help: 'add: fire when this SQL is true over a scheduled snapshot (needs --every)',
    },
    probe: { type: 'string', value: 'NAME', help: 'add: fire on an event of this probe' },
    where: {
      type: 'string',
      value: 'SQL',
      help: "add: only events where this SQL holds over the probe's columns",
    },
    'slow-over': {
      type: 'string',
      value: 'DURATION',
      help: 'add: fire on a request slower than this (traces)',
    },
    'on-error': {
      type: 'boolean',
      help: 'add: fire on a request that returned an error or panicked (traces)',
    },
    trace: { type: 'string', value: 'NAME', help: 'add: only requests of this trace' },
    snapshot: {
      type: 'string',
      value: 'WHAT',
      help: 'add: snapshot when it fires: process (default for events), program, none, or a selector',
    },
    report: {
      type: 'string',
      multiple: true,
      value: 'NAME=SQL',
      help: 'add: a report query run over the snapshot it took (repeatable)',
    },
    webhook: { type: 'string', value: 'URL', help: 'add: POST each firing as JSON to URL' },
    'max-fires': { type: 'string', value: 'N', help: 'add: fire at most N times (0: no limit)' },
    'min-interval': { type: 'string', value: 'DURATION', help: 'add: fire at most once per DURATION' },
    until: { type: 'string', value: 'TIME', help: 'add: fire no more after this date (ISO 8601)' },
    all: { type: 'boolean', help: 'list: closed ones too' },
    json: { type: 'boolean', help: 'print JSON' },
    ...SERVER_OPTIONS,
  },
  positionals: {
    min: 1,
    max: 2,
    missing: 'give a subcommand: periscope investigation add NAME … | list | show NAME | close NAME',
  },
  details:
    'An investigation is a question that waits for its moment: when a trigger fires (a schedule,\n' +
    'a SQL condition over a scheduled snapshot, a probe event, a slow or failed request), it takes\n' +
    'a snapshot, runs its report over it, and calls its webhook. docs/investigations.md has more.\n\n' +
    'Examples:\n' +
    '  periscope investigation add api-every-5m --every 5m --select program=api --keep 288\n' +
    '  periscope investigation add mutex-pileup --every 1m --select program=api \\\n' +
    '      --when "SELECT count(*) > 100 FROM goroutines WHERE wait_reason = \'sync.Mutex.Lock\'" \\\n' +
    '      --report "waiters=SELECT top_function, count(*) FROM goroutines GROUP BY 1 ORDER BY 2 DESC" --max-fires 3\n' +
    '  periscope investigation add big-order --probe place_order --where "qty > 1000" --snapshot program\n' +
    '  periscope investigation add slow-checkout --slow-over 2s --trace checkout --webhook https://hooks.example/x\n' +
    '  periscope investigation add --file mutex.yaml\n' +
    '  periscope investigation show mutex-pileup\n' +
    '  periscope investigation close mutex-pileup',
  parse(values, positionals): Action & { readonly target: ServerTarget; readonly json: boolean } {
    const [sub, name] = positionals;
    const target = serverTarget(values);
    const json = flagOption(values, 'json');
    if (sub === 'list') {
      if (name !== undefined) throw new PeriscopeError('bad-usage', `unexpected argument "${name}"`);
      return { action: 'list', all: flagOption(values, 'all'), target, json };
    }
    if (sub === 'show' || sub === 'close') {
      if (name === undefined)
        throw new PeriscopeError('bad-usage', `give the investigation: periscope investigation ${sub} NAME`);
      return { action: sub, ref: name, target, json };
    }
    if (sub !== 'add')
      throw new PeriscopeError(
        'bad-usage',
        `unknown subcommand "${sub}"; give one of: add NAME, list, show NAME, close NAME`,
      );
    const body = investigationFields(name, {
      file: textOption(values, 'file'),
      question: textOption(values, 'question'),
      notes: textOption(values, 'notes'),
      every: textOption(values, 'every'),
      select: textOption(values, 'select'),
      keep: textOption(values, 'keep'),
      keepFor: textOption(values, 'keep-for'),
      when: listOption(values, 'when'),
      probe: textOption(values, 'probe'),
      where: textOption(values, 'where'),
      slowOver: textOption(values, 'slow-over'),
      onError: flagOption(values, 'on-error'),
      trace: textOption(values, 'trace'),
      snapshot: textOption(values, 'snapshot'),
      report: listOption(values, 'report'),
      webhook: textOption(values, 'webhook'),
      maxFires: textOption(values, 'max-fires'),
      minInterval: textOption(values, 'min-interval'),
      until: textOption(values, 'until'),
    });
    return { action: 'add', body, target, json };
  },
  async run({ target, ...o }) {
    await run(target, o);
  },
});
