/** The readable summary of `periscope snapshot`: goroutines grouped by stack, with captured values. */
import { formatDuration } from '../../common/go-duration.js';
import { SKIPPED } from '../../snapshot/capture-values.js';
import type { ProcessSnapshot, SnapshotGoroutine } from '../../snapshot/snapshot-types.js';
import { linkNoteText } from '../../snapshot/socket-identity.js';
import { captureErrorText } from '../../snapshot/spec-fit.js';
import { groupByStack, type StackGroup, visibleFrames } from '../../snapshot/stack-groups.js';
import { isBuiltIn } from '../../spec/default-spec.js';

/** Rounds a wait to what a reader needs: ms below a minute, whole seconds above. */
export function roundForHumans(ns: number): number {
  const unit = ns >= 60e9 ? 1e9 : ns >= 1e6 ? 1e6 : 1e3;
  return Math.round(ns / unit) * unit;
}

const ms = (ns: number) => `${(ns / 1e6).toFixed(2)} ms`;

function kib(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** The header line: what was read and what it cost the process. */
export function renderHeader(s: ProcessSnapshot): string {
  const cost =
    s.mode === 'paused'
      ? `paused ${ms(s.pauseNs)} (stop ${ms(s.phasesNs.stop)}, copy ${ms(s.phasesNs.copy)}${s.phasesNs.values ? `, values ${ms(s.phasesNs.values)}` : ''}, resume ${ms(s.phasesNs.resume)}; ${s.threads} threads)`
      : 'not paused (--no-pause: stacks may be inconsistent)';
  const lines = [
    `process ${s.pid}  ${s.executable}  ${s.goVersion ?? ''}`,
    `${s.goroutines.length} goroutines, ${cost}, ${kib(s.bytesRead)} read, decoded in ${ms(s.decodeNs)}`,
  ];
  if (s.partial) lines.push(`partial: ${s.partial.reason}; raise --pause-cap-ms to read everything`);
  if (s.valuesAfterPause)
    lines.push(
      `values of ${s.valuesAfterPause} frames were read after the pause (its budget for values was spent); they may not match the stacks`,
    );
  return lines.join('\n');
}

/** A value as the summary shows it: a socket without identity and what was not read for it are said once, in the link notes. */
function renderValue(v: SnapshotGoroutine['captures'][number]['values'][number]): string | undefined {
  if (v.error === SKIPPED) return undefined;
  const o = v.value;
  if (o !== null && typeof o === 'object' && !Array.isArray(o) && typeof o.unresolved === 'string')
    return `${v.column}=<no socket identity: see the link notes>`;
  return `${v.column}=${v.value === null ? `<${v.error ?? 'unavailable'}>` : JSON.stringify(v.value)}`;
}

function renderCaptures(g: SnapshotGoroutine, indent: string): string[] {
  const lines: string[] = [];
  for (const c of g.captures) {
    const vals = c.values.flatMap((v) => renderValue(v) ?? []);
    // A function several tables capture on has a line per table: each names its table.
    const shared = g.captures.some((o) => o !== c && o.depth === c.depth);
    lines.push(
      `${indent}${c.function} [frame ${c.depth}${shared ? `, ${c.table}` : ''}]: ${vals.join('  ')}`,
    );
  }
  return lines;
}

function renderGroup(group: StackGroup, maxCaptured: number): string[] {
  const first = group.goroutines[0]!;
  const n = group.goroutines.length;
  const states = group.states
    .map((s) => (group.states.length > 1 ? `${s.state} ×${s.count}` : s.state))
    .join(', ');
  const wait = group.longestWaitNs
    ? `, ${n > 1 ? 'longest ' : ''}${formatDuration(BigInt(roundForHumans(group.longestWaitNs)))}`
    : '';
  const ids =
    group.goroutines
      .slice(0, 8)
      .map((g) => g.id)
      .join(' ') + (n > 8 ? ' …' : '');
  const thread = n === 1 && first.threadId !== undefined ? ` on thread ${first.threadId}` : '';
  const labels =
    n === 1 && first.labels.length > 0
      ? `  labels {${first.labels.map(([k, v]) => `${k}=${v}`).join(', ')}}`
      : '';
  const lines = [`${n} goroutine${n > 1 ? 's' : ''} [${states}${wait}]${thread}  ids: ${ids}${labels}`];
  for (const f of visibleFrames(first))
    lines.push(`    ${f.function}${f.inlined ? ' (inlined)' : ''}`, `        ${f.file}:${f.line}`);
  if (first.stack.end === 'truncated') lines.push('    … (stack cut at the frame limit)');
  if (first.stack.end === 'unavailable')
    lines.push(
      '    (running on a thread that was not on its stack, e.g. in the scheduler: stack unavailable)',
    );
  if (first.stack.error) lines.push(`    … (${first.stack.error})`);
  if (first.createdBy)
    lines.push(
      `    created by ${first.createdBy.function}${first.createdBy.parentId ? ` in goroutine ${first.createdBy.parentId}` : ''}`,
      `        ${first.createdBy.file}:${first.createdBy.line}`,
    );
  const withCaptures = group.goroutines.filter((g) => g.captures.length > 0);
  for (const g of withCaptures.slice(0, maxCaptured)) {
    lines.push(`  goroutine ${g.id}:`, ...renderCaptures(g, '    '));
  }
  if (withCaptures.length > maxCaptured)
    lines.push(`  … ${withCaptures.length - maxCaptured} more goroutines with captured values (see --json)`);
  return lines;
}

/** The spec entries this binary could not capture, one line each (none: no lines). */
function renderCaptureErrors(s: ProcessSnapshot, source: string | undefined): string[] {
  const errors = s.captureErrors ?? [];
  if (errors.length === 0) return [];
  const n = errors.length;
  return [
    `${n} spec problem${n > 1 ? 's' : ''} with this binary (those entries were not captured; everything else was):`,
    ...errors.map((e) => `  ${captureErrorText(e, source)}`),
    '',
  ];
}

/** The links that cannot resolve in this process (or not for every row), once each. */
function renderLinkNotes(s: ProcessSnapshot): string[] {
  const notes = s.linkNotes ?? [];
  if (notes.length === 0) return [];
  return [
    `link${notes.length > 1 ? 's' : ''} that cannot resolve here (SELECT * FROM link_notes):`,
    ...notes.map((n) => `  ${linkNoteText(n)}`),
    '',
  ];
}

/** Renders the whole summary; runtime-internal goroutines are counted but not listed unless asked. */
export function renderSnapshot(
  s: ProcessSnapshot,
  opts: { system?: boolean; specSource?: string } = {},
): string {
  const groups = groupByStack(s);
  const shown = opts.system ? groups : groups.filter((g) => !g.system);
  const hidden = groups.filter((g) => !shown.includes(g)).reduce((n, g) => n + g.goroutines.length, 0);
  const out = [renderHeader(s), '', ...renderCaptureErrors(s, opts.specSource), ...renderLinkNotes(s)];
  for (const g of shown) out.push(...renderGroup(g, 5), '');
  if (hidden > 0) out.push(`(${hidden} runtime goroutines not shown; --system shows them)`);
  const inconsistent = s.goroutines.filter((g) => g.inconsistent).length;
  if (inconsistent > 0)
    out.push(`(${inconsistent} goroutines changed while being read; their stacks may be wrong)`);
  // Built-in entries serve every program: those a binary lacks are expected, not worth a line.
  const absent = s.specFunctionsAbsent.filter((f) => !isBuiltIn('function', f));
  if (absent.length > 0) out.push(`(spec functions not in this binary: ${absent.join(', ')})`);
  if (s.truncated) out.push(`(only the first ${s.goroutines.length} of ${s.allglen} goroutines were read)`);
  return out.join('\n').trimEnd();
}
