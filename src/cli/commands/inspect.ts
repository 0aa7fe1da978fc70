/** `periscope inspect BINARY [--func NAME | --type NAME] [--json]`: what the binary reader sees. */
import { PeriscopeError } from '../../common/errors.js';
import { type GoBinary, REBUILD_WITH_DWARF } from '../../gobinary/go-binary.js';
import { threadBinaries } from '../../snapshot/binary-cache.js';
import { useBinaryDiskCache } from '../binary-cache-dir.js';
import { defineCommand } from '../command.js';
import { summaryOf } from '../command-list.js';
import { flagOption, textOption } from '../options.js';
import { out, printJson } from '../output.js';
import {
  type BinarySummary,
  binarySummary,
  type FunctionView,
  functionView,
  type InlinedView,
  similarNames,
  type TypeView,
  typeView,
  type VariableView,
} from './inspect-view.js';

export const inspectCommand = defineCommand({
  name: 'inspect',
  summary: summaryOf('inspect'),
  args: 'BINARY',
  options: {
    func: {
      type: 'string',
      value: 'NAME',
      help: 'a function (e.g. main.main, main.(*T).M): parameters, locals and where each lives per PC range',
    },
    type: {
      type: 'string',
      value: 'NAME',
      help: 'a type (e.g. main.T, *main.T, runtime.g): size and field offsets',
    },
    json: { type: 'boolean', help: 'print JSON instead of text' },
  },
  details:
    'Examples:\n  periscope inspect ./server\n  periscope inspect ./server --func main.handle\n  periscope inspect ./server --type runtime.g --json',
  positionals: {
    min: 1,
    max: 1,
    missing: 'inspect takes exactly one BINARY',
    extra: 'inspect takes exactly one BINARY',
  },
  parse(values, positionals) {
    const func = textOption(values, 'func');
    const type = textOption(values, 'type');
    if (func !== undefined && type !== undefined)
      throw new PeriscopeError('bad-usage', 'give --func or --type, not both');
    return { binary: positionals[0]!, func, type, json: flagOption(values, 'json') };
  },
  async run({ binary, func, type, json }) {
    useBinaryDiskCache();
    const bin = threadBinaries.open(binary);
    try {
      await inspectBinary(bin, func, type, json);
    } finally {
      threadBinaries.persist(bin);
    }
  },
});

/** Prints what the command was asked about one binary. */
async function inspectBinary(
  bin: GoBinary,
  func: string | undefined,
  type: string | undefined,
  json: boolean,
): Promise<void> {
  if (func !== undefined) {
    const dwarf = bin.requireDwarf(`--func`);
    const view = functionView(bin, dwarf, func);
    if (!view) throw notFound('function', func, dwarf.functionNames());
    if (json) await printJson(view);
    else out(renderFunction(view));
    return;
  }
  if (type !== undefined) {
    const dwarf = bin.requireDwarf(`--type`);
    const view = typeView(dwarf, type);
    if (!view) throw notFound('type', type, dwarf.typeNames());
    if (json) await printJson(view);
    else out(renderType(view));
    return;
  }
  const summary = binarySummary(bin);
  if (json) await printJson(summary);
  else out(renderSummary(summary));
  if (summary.stripped)
    process.stderr.write(
      `warning: no DWARF: snapshots cannot read variables or types of this binary; ${REBUILD_WITH_DWARF}\n`,
    );
}

function notFound(what: string, name: string, names: Iterable<string>): PeriscopeError {
  const near = similarNames(names, name);
  const hint =
    near.length > 0
      ? `; did you mean ${near.join(', ')}?`
      : `; names are fully qualified, e.g. main.main or main.(*T).M`;
  return new PeriscopeError('no-such-symbol', `no ${what} named ${name} in this binary${hint}`);
}

function renderSummary(s: BinarySummary): string {
  const rows: [string, string][] = [
    ['Binary', s.path],
    ['Go version', s.goVersion ?? 'unknown'],
    ['Main module', s.mainModule ? `${s.mainModule}${s.mainVersion ? ` ${s.mainVersion}` : ''}` : 'unknown'],
    ['VCS revision', s.vcsRevision ?? '-'],
    ['Build ID', s.buildId ?? '-'],
    ['Go build ID', s.goBuildId ?? '-'],
    ['Architecture', `${s.arch}${s.pie ? ' (PIE)' : ''}`],
    ['DWARF', s.stripped ? 'none (stripped)' : `version ${s.dwarfVersion}, ${s.compileUnits} compile units`],
    ['Functions', `${s.functions}${s.dwarfFunctions !== null ? ` (${s.dwarfFunctions} with DWARF)` : ''}`],
    ['Types', String(s.types)],
    ['Dependencies', String(s.dependencies)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(14)} ${v}`).join('\n');
}

function renderVariables(vars: readonly VariableView[], indent: string): string[] {
  const lines: string[] = [];
  for (const v of vars) {
    lines.push(
      `${indent}${v.kind.padEnd(6)} ${v.name} ${v.type}${v.declLine !== null ? `  (line ${v.declLine})` : ''}`,
    );
    if (v.locations.length === 0) lines.push(`${indent}         no location information`);
    for (const l of v.locations) lines.push(`${indent}         [${l.low}, ${l.high})  ${l.where}`);
  }
  return lines;
}

function renderInlined(calls: readonly InlinedView[], indent: string): string[] {
  const lines: string[] = [];
  for (const c of calls) {
    const at = c.callLine !== null ? ` called at ${c.callFile ?? '?'}:${c.callLine}` : '';
    lines.push(`${indent}inlined ${c.function}${at}  ${c.ranges.join(' ')}`);
    lines.push(...renderVariables(c.variables, `${indent}  `), ...renderInlined(c.inlined, `${indent}  `));
  }
  return lines;
}

function renderFunction(f: FunctionView): string {
  const lines = [
    `func ${f.name}  [${f.lowPc}, ${f.highPc})`,
    `declared at ${f.declFile ?? '?'}:${f.declLine ?? '?'}`,
  ];
  lines.push(...(f.variables.length ? renderVariables(f.variables, '  ') : ['  (no parameters or locals)']));
  lines.push(...renderInlined(f.inlined, '  '));
  return lines.join('\n');
}

function renderType(t: TypeView): string {
  const lines = [
    `type ${t.name}  kind ${t.kind ?? '?'}  size ${t.size ?? '?'}${t.runtimeType ? `  runtime type ${t.runtimeType}` : ''}`,
  ];
  if (t.key) lines.push(`  key   ${t.key}`);
  if (t.elem) lines.push(`  elem  ${t.elem}`);
  if (t.count !== null) lines.push(`  count ${t.count}`);
  if (t.fields.length > 0) {
    lines.push(`  ${'offset'.padStart(6)}  ${'size'.padStart(5)}  field`);
    for (const f of t.fields) {
      lines.push(
        `  ${String(f.offset).padStart(6)}  ${String(f.size ?? '?').padStart(5)}  ${f.embedded ? '(embedded) ' : ''}${f.name} ${f.type}`,
      );
    }
  }
  return lines.join('\n');
}
