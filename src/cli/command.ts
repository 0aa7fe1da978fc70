import { type ParseArgsConfig, parseArgs } from 'node:util';
import { PeriscopeError } from '../common/errors.js';

/** The options table of a command, in node:util parseArgs form, with help text per option. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { help: string; value?: string };

/** One CLI subcommand: its usage text and the function that runs it. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Positional arguments, e.g. 'BINARY'. */
  readonly args: string;
  readonly options: Record<string, OptionSpec>;
  /** Longer description and examples, shown by --help. */
  readonly details?: string;
  run(positionals: string[], values: Record<string, string | boolean | undefined>): Promise<void>;
}

/** Renders `periscope CMD --help`. */
export function usage(cmd: Command): string {
  const lines = [`Usage: periscope ${cmd.name} ${cmd.args} [options]`, '', cmd.summary, ''];
  if (cmd.details) lines.push(cmd.details, '');
  lines.push('Options:');
  const opts = { ...cmd.options, help: { type: 'boolean', help: 'show this help' } as OptionSpec };
  for (const [name, o] of Object.entries(opts)) {
    const flag = `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    lines.push(`  ${flag.padEnd(24)} ${o.help}`);
  }
  return lines.join('\n');
}

/** Parses argv for a command; unknown options become a usage error that names them. */
export function parseCommandArgs(cmd: Command, argv: string[]) {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(cmd.options)) {
    const { help: _h, value: _v, ...rest } = o;
    options[name] = rest;
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new PeriscopeError(
      'bad-usage',
      `${(e as Error).message.split('\n')[0]}; see \`periscope ${cmd.name} --help\``,
    );
  }
}
