/**
 * Headless Chromium for the web app's tests and benchmark: Debian's `chromium` driven by
 * playwright-core (whose own browser downloads cannot reach their hosts here). When it is
 * missing and we are root (CI on a fresh machine), it is installed with apt-get.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ensureDebianTool } from './debian-package.js';
import { ROOT } from './go-fixtures.js';

/** Where Debian installs it. */
export const CHROMIUM = '/usr/bin/chromium';

/** The flags of /work/shared/PLATFORM.md ("Browsers"). */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Installs Debian's chromium when it is absent (as root); throws saying what to do otherwise. */
export function ensureChromium(): string {
  return ensureDebianTool(CHROMIUM, 'chromium');
}

/** Launches headless Chromium (installing it first when needed). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: ensureChromium(), args: FLAGS, headless: true });
}

/** Where the web tests keep their screenshots (gitignored). */
export const SCREENSHOTS = join(ROOT, 'test-artifacts', 'web');

/** Saves a full-page screenshot as test-artifacts/web/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  // From the top: a full-page shot of a scrolled page draws the sticky header and table heads
  // where the scroll left them, over the content.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Roles of the controls a user operates: each must have an accessible name. */
const CONTROL_ROLES = [
  'button',
  'checkbox',
  'combobox',
  'link',
  'radio',
  'searchbox',
  'slider',
  'spinbutton',
  'switch',
  'textbox',
];

/**
 * The controls on the page without an accessible name, as the browser computes names (its
 * accessibility tree, through Playwright's ARIA snapshot): a line of the snapshot each.
 */
export async function unnamedControls(page: Page): Promise<string[]> {
  const tree = await page.locator('body').ariaSnapshot();
  const unnamed = new RegExp(`^\\s*- (${CONTROL_ROLES.join('|')})(\\s*\\[[^\\]]*\\])*:?( .*)?$`);
  return tree.split('\n').filter((line) => unnamed.test(line) && !/^\s*- \w+ "/.test(line));
}
