/**
 * What a CLI command is: its usage text, its options, how its flags become typed options (once,
 * before anything runs), and what it runs. Usage errors carry the command's usage line.
 */
import { PeriscopeError } from '../common/errors.js';
import { type OptionSpec, type OptionValues, parseArgv } from './argv.js';

export type { OptionSpec, OptionValues };

/** Exit codes of `periscope` (docs/api.md lists them). */
export const EXIT = {
  ok: 0,
  /** Something failed; the message on stderr says what and what to do. */
  error: 1,
  /** The command line is wrong. */
  usage: 2,
  /** `periscope snapshot`: some processes were captured, some were not. */
  someCaptured: 3,
  /** `periscope snapshot`: no process was captured. */
  noneCaptured: 4,
  /** Standard output was closed early (e.g. piped into `head`), as for tools killed by SIGPIPE. */
  outputClosed: 141,
} as const;

/** A wrong command line: the message, then the command's usage line and where its help is. */
export class UsageError extends PeriscopeError {
  constructor(
    message: string,
    /** `Usage: periscope CMD ARGS [options]; run \`periscope CMD --help\` for the options`. */
    readonly usageLine: string,
  ) {
    super('bad-usage', message);
    this.name = 'UsageError';
  }
}

/** An error that ends the command with a given exit code; `error` is reported like any error. */
export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error));
    this.name = 'ExitError';
  }
}

/** How many positional arguments a command takes, and what to say when one is missing. */
export interface Positionals {
  readonly min: number;
  readonly max: number;
  /** The message when fewer than `min` are given (default: "missing ARGS"). */
  readonly missing?: string;
  /** The message when more than `max` are given (default names the first one too many). */
  readonly extra?: string;
}

/** A command as written: metadata, typed options parsed from flags, and the run. */
export interface CommandSpec<O> {
  readonly name: string;
  readonly summary: string;
  /** Positional arguments and required options in the usage line, e.g. 'BINARY'. */
  readonly args: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Longer description and examples, shown by --help. */
  readonly details?: string;
  /** Default: none. */
  readonly positionals?: Positionals;
  /** Turns flags and arguments into the command's typed options; a bad-usage error here is a usage error. */
  parse(values: OptionValues, positionals: readonly string[]): O;
  /** Runs the command; resolves to its exit code (default 0). */
  run(opts: O): Promise<number | undefined> | Promise<void>;
}

/** A command ready to run. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Runs the command on the arguments after its name; resolves to the exit code. */
  execute(argv: readonly string[]): Promise<number>;
}

/** `Usage: periscope CMD ARGS [options]`. */
export function usageLine(cmd: Pick<CommandSpec<unknown>, 'name' | 'args'>): string {
  return `Usage: periscope ${cmd.name}${cmd.args ? ` ${cmd.args}` : ''} [options]`;
}

/** Renders `periscope CMD --help`. */
export function usage(cmd: CommandSpec<unknown>): string {
  const lines = [usageLine(cmd), '', cmd.summary, ''];
  if (cmd.details) lines.push(cmd.details, '');
  lines.push('Options:');
  const opts = { ...cmd.options, help: { type: 'boolean', help: 'show this help' } as OptionSpec };
  for (const [name, o] of Object.entries(opts)) {
    const flag = `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    lines.push(`  ${flag.padEnd(24)} ${o.help}`);
  }
  return lines.join('\n');
}

function checkPositionals(cmd: CommandSpec<unknown>, positionals: readonly string[]): void {
  const { min, max, missing, extra } = cmd.positionals ?? { min: 0, max: 0 };
  if (positionals.length > max)
    throw new PeriscopeError(
      'bad-usage',
      extra ??
        (max === 0
          ? `unexpected argument "${positionals[max]}"`
          : `too many arguments: "${positionals[max]}"`),
    );
  if (positionals.length < min) throw new PeriscopeError('bad-usage', missing ?? `missing ${cmd.args}`);
}

/** Runs `fn`; a bad-usage PeriscopeError from it becomes a UsageError with the command's usage line. */
function asUsage<T>(cmd: CommandSpec<unknown>, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PeriscopeError && e.kind === 'bad-usage' && !(e instanceof UsageError))
      throw new UsageError(
        e.message,
        `${usageLine(cmd)}; \`periscope ${cmd.name} --help\` explains the options`,
      );
    throw e;
  }
}

/** Makes a runnable command: argv parsed once into typed options, then run. */
export function defineCommand<O>(spec: CommandSpec<O>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    async execute(argv) {
      const { values, positionals } = asUsage(spec, () => parseArgv(spec.options, argv));
      if (values.help === true) {
        process.stdout.write(`${usage(spec)}\n`);
        return EXIT.ok;
      }
      const opts = asUsage(spec, () => {
        checkPositionals(spec, positionals);
        return spec.parse(values, positionals);
      });
      return (await spec.run(opts)) ?? EXIT.ok;
    },
  };
}
