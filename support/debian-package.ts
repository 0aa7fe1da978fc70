/**
 * Debian tools the tests drive for real (chromium, psql): present, or installed with apt-get
 * when the tests run as root (a fresh machine of the CI's kind), or else a clear error saying
 * what to install. Never a skip.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Returns `path`, installing Debian package `pkg` first when it is absent and we are root. */
export function ensureDebianTool(path: string, pkg: string): string {
  if (existsSync(path)) return path;
  if (process.getuid?.() !== 0)
    throw new Error(`${path} is missing: install Debian's ${pkg} (apt-get install ${pkg}) or run as root`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], {
      stdio: 'ignore',
      env,
      timeout: 600_000,
    });
  } catch (e) {
    throw new Error(
      `${path} is missing and apt-get install ${pkg} failed (${(e as Error).message}): install Debian's ${pkg}, then run the tests again`,
    );
  }
  if (!existsSync(path)) throw new Error(`apt-get install ${pkg} did not provide ${path}`);
  return path;
}
