/**
 * A command's argv into option values and positional arguments, with our own messages for
 * what node:util's parser would refuse in its words: an unknown option (with the nearest
 * known one), a value missing or given where none is taken.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { PeriscopeError } from '../common/errors.js';
import { editDistance } from '../common/nearest-names.js';

/** One option of a command: node:util parseArgs form, its help text and the name of its value. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & {
  readonly help: string;
  readonly value?: string;
};

/** Option values as parsed: text, flags, and lists of repeatable options. */
export type OptionValues = Readonly<
  Record<string, string | boolean | readonly (string | boolean)[] | undefined>
>;

/** What argv holds. */
export interface ParsedArgv {
  readonly values: OptionValues;
  readonly positionals: readonly string[];
}

function usageError(message: string): PeriscopeError {
  return new PeriscopeError('bad-usage', message);
}

/** The known option a mistyped one most likely meant, if any is close. */
function nearest(name: string, known: readonly string[]): string | undefined {
  if (name.length < 2) return undefined;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = k.startsWith(name) || name.startsWith(k) ? 1 : editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

function flag(name: string, o: OptionSpec | undefined): string {
  return o?.type === 'string' ? `--${name} ${o.value ?? 'VALUE'}` : `--${name}`;
}

/** Parses argv against a command's options (plus --help/-h); usage errors name the option. */
export function parseArgv(
  options: Readonly<Record<string, OptionSpec>>,
  argv: readonly string[],
): ParsedArgv {
  const config: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(options)) {
    const { help: _h, value: _v, ...rest } = o;
    config[name] = rest;
  }
  const loose = parseArgs({
    args: [...argv],
    options: config,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const known = Object.keys(options);
  for (const t of loose.tokens) {
    if (t.kind !== 'option') continue;
    const spec = options[t.name];
    if (!spec && t.name !== 'help') {
      const given = (argv[t.index] ?? t.rawName).split('=')[0] ?? t.rawName;
      const asLong = given.replace(/^-+/, '');
      const guess = nearest(asLong, known);
      throw usageError(
        `unknown option ${given}${guess ? `; did you mean ${flag(guess, options[guess])}?` : ''}`,
      );
    }
    if (spec?.type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.startsWith('-'))))
      throw usageError(
        `${t.rawName} needs a value: ${flag(t.name, spec)}${t.value !== undefined ? ` (for a value that starts with "-", write --${t.name}=${t.value})` : ''}`,
      );
    if (spec?.type !== 'string' && t.inlineValue)
      throw usageError(`${t.rawName} takes no value; write just ${t.rawName}`);
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: config,
      strict: true,
      allowPositionals: true,
    });
    return { values, positionals };
  } catch (e) {
    // What the checks above missed, in node's words (first line).
    throw usageError((e as Error).message.split('\n')[0] ?? String(e));
  }
}
