/** Entry point of the `periscope` CLI: dispatches to a subcommand and turns errors into one line. */
import { describeError, PeriscopeError } from '../common/errors.js';
import { PERISCOPE_VERSION } from '../common/version.js';
import { type Command, parseCommandArgs, usage } from './command.js';
import { agentCommand } from './commands/agent.js';
import { agentsCommand } from './commands/agents.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { inspectCommand } from './commands/inspect.js';
import { linksCommand } from './commands/links.js';
import { processesCommand } from './commands/processes.js';
import { queryCommand } from './commands/query.js';
import { serverCommand } from './commands/server.js';
import { snapshotCommand } from './commands/snapshot.js';
import { specCommand } from './commands/spec.js';
import { tokenCommand } from './commands/token.js';

const commands: Command[] = [
  inspectCommand,
  snapshotCommand,
  queryCommand,
  linksCommand,
  specCommand,
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

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(topUsage());
    return 0;
  }
  if (name === '--version') {
    console.log(`periscope ${PERISCOPE_VERSION}`);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd)
    throw new PeriscopeError('bad-usage', `unknown command "${name}"; run \`periscope --help\` for the list`);
  const { values, positionals } = parseCommandArgs(cmd, rest);
  if (values.help) {
    console.log(usage(cmd));
    return 0;
  }
  await cmd.run(positionals, values as Record<string, string | boolean | undefined>);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const internal = !(err instanceof PeriscopeError);
    console.error(
      `periscope: ${describeError(err)}${internal ? ' (internal error; set PERISCOPE_DEBUG=1 for details)' : ''}`,
    );
    if (process.env.PERISCOPE_DEBUG && err instanceof Error) console.error(err.stack);
    process.exitCode = err instanceof PeriscopeError && err.kind === 'bad-usage' ? 2 : 1;
  },
);
