/**
 * PostgreSQL's JDBC driver (org.postgresql:postgresql from Maven Central), fetched with the
 * machine's `mvn` into .cache/tools on first use, and a program of `testdata/jdbc/`
 * (JdbcReplay.java, JdbcTransactions.java) run with it by Java's single-file launcher (Java 11+). .ci/run installs Java and Maven when
 * the machine lacks them.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, TESTDATA } from './go-fixtures.js';

const run = promisify(execFile);

/** The driver's version: one Maven Central serves. */
export const JDBC_VERSION = '42.7.14';

const DIR = join(ROOT, '.cache', 'tools', `postgresql-jdbc-${JDBC_VERSION}`);
const JAR = join(DIR, `postgresql-${JDBC_VERSION}.jar`);

let fetching: Promise<string> | undefined;

/** The driver's jar, downloaded by Maven on first use; resolves to its path. */
export function jdbcDriver(): Promise<string> {
  fetching ??= (async () => {
    if (existsSync(JAR)) return JAR;
    mkdirSync(DIR, { recursive: true });
    await run(
      'mvn',
      [
        '-q',
        '-B',
        'dependency:copy',
        `-Dartifact=org.postgresql:postgresql:${JDBC_VERSION}`,
        `-DoutputDirectory=${DIR}`,
      ],
      { cwd: DIR, timeout: 600_000, maxBuffer: 16 << 20 },
    );
    if (!existsSync(JAR)) throw new Error(`mvn did not leave ${JAR}`);
    return JAR;
  })();
  return fetching;
}

/** Runs a program of testdata/jdbc (JdbcReplay by default) against a JDBC URL; resolves to its lines as [step, text] and its exit code. */
export async function jdbcReplay(
  url: string,
  user: string,
  password: string,
  program = 'JdbcReplay',
): Promise<{ readonly code: number; readonly lines: readonly [string, string][] }> {
  const jar = await jdbcDriver();
  const src = join(TESTDATA, 'jdbc', `${program}.java`);
  let stdout: string;
  let code = 0;
  try {
    ({ stdout } = await run('java', ['-Duser.timezone=UTC', '-cp', jar, src, url, user, password], {
      timeout: 120_000,
    }));
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    code = err.code;
    stdout = `${err.stdout ?? ''}error\t${err.stderr ?? ''}`;
  }
  const lines = stdout
    .split('\n')
    .filter((l) => l.includes('\t'))
    .map((l) => {
      const tab = l.indexOf('\t');
      return [l.slice(0, tab), l.slice(tab + 1)] as [string, string];
    });
  return { code, lines };
}
