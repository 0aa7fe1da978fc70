/**
 * The table a `functions:` entry without `table:` fills. No Node imports: the web app's spec
 * editing (`web/spec-yaml.ts`) names tables the way the parser does.
 */

/** Table name for a function without an explicit one: `main.(*Server).handle` -> `main_server_handle`. */
export function defaultTableName(fn: string): string {
  const base = fn.split('/').pop() ?? fn;
  return base
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}
