/** Entry point of the `periscope` CLI: dispatches to a subcommand and turns errors into one line and an exit code. */
import { describeError, PeriscopeError } from '../common/errors.js';
import { PERISCOPE_VERSION } from '../common/version.js';
import { EXIT, ExitError, UsageError } from './command.js';
import { COMMANDS } from './command-list.js';
import { exitQuietlyWhenOutputCloses } from './output.js';

function topUsage(): string {
  const lines = [
    'Usage: periscope COMMAND [options]',
    '',
    'Periscope: a debugger for Go services in production.',
    '',
    'Commands:',
  ];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(12)} ${c.summary}`);
  lines.push('', 'Run `periscope COMMAND --help` for the options of a command.');
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${topUsage()}\n`);
    return EXIT.ok;
  }
  if (name === '--version') {
    process.stdout.write(`periscope ${PERISCOPE_VERSION}\n`);
    return EXIT.ok;
  }
  const listed = COMMANDS.find((c) => c.name === name);
  if (!listed)
    throw new PeriscopeError('bad-usage', `unknown command "${name}"; run \`periscope --help\` for the list`);
  return (await listed.load()).execute(rest);
}

/** Prints an error as one line (a usage error also gets its usage line) and returns the exit code. */
function report(err: unknown): number {
  const shown = err instanceof ExitError ? err.error : err;
  const internal = !(shown instanceof PeriscopeError);
  process.stderr.write(
    `periscope: ${describeError(shown)}${internal ? ' (internal error; set PERISCOPE_DEBUG=1 for details)' : ''}\n`,
  );
  if (shown instanceof UsageError) process.stderr.write(`${shown.usageLine}\n`);
  if (process.env.PERISCOPE_DEBUG && shown instanceof Error) process.stderr.write(`${shown.stack}\n`);
  if (err instanceof ExitError) return err.exitCode;
  return shown instanceof PeriscopeError && shown.kind === 'bad-usage' ? EXIT.usage : EXIT.error;
}

exitQuietlyWhenOutputCloses();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
