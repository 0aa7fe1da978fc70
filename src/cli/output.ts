/** Output helpers shared by CLI commands. */

/** Prints data as pretty JSON on stdout. */
export function printJson(data: unknown): void {
  process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
}
