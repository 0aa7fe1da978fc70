/** Entry point of the `periscope` CLI: dispatches to a subcommand and turns errors into one line and an exit code. */
import { describeError, PeriscopeError } from '../common/errors.js';
import { PERISCOPE_VERSION } from '../common/version.js';
import { type Command, EXIT, ExitError, UsageError } from './command.js';
import { agentCommand } from './commands/agent.js';
import { agentsCommand } from './commands/agents.js';
import { eventsCommand } from './commands/events.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { inspectCommand } from './commands/inspect.js';
import { linksCommand } from './commands/links.js';
import { probeCommand } from './commands/probe.js';
import { processesCommand } from './commands/processes.js';
import { queryCommand } from './commands/query.js';
import { serverCommand } from './commands/server.js';
import { snapshotCommand } from './commands/snapshot.js';
import { specCommand } from './commands/spec.js';
import { tokenCommand } from './commands/token.js';
import { exitQuietlyWhenOutputCloses } from './output.js';

const commands: readonly Command[] = [
  inspectCommand,
  snapshotCommand,
  queryCommand,
  linksCommand,
  specCommand,
  probeCommand,
  eventsCommand,
  exportCommand,
  importCommand,
  agentCommand,
  serverCommand,
  agentsCommand,
  processesCommand,
  tokenCommand,
];

function topUsage(): string {
  const lines = [
    'Usage: periscope COMMAND [options]',
    '',
    'Periscope: a debugger for Go services in production.',
    '',
    'Commands:',
  ];
  for (const c of commands) lines.push(`  ${c.name.padEnd(12)} ${c.summary}`);
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
  const cmd = commands.find((c) => c.name === name);
  if (!cmd)
    throw new PeriscopeError('bad-usage', `unknown command "${name}"; run \`periscope --help\` for the list`);
  return cmd.execute(rest);
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
