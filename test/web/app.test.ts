// The web app end to end in headless Chromium against a real server, agent and the demo fleet
// (one `npm start` run for the whole file): sign in; take a snapshot; find the stuck request
// by its age and follow its links across the processes; filter goroutines, use the flame graph
// and the keyboard; run SQL with completion and save it as a derived table; the agents and
// diff views; add a capture in the spec editor and see it in the next snapshot (and the spec's
// fit on each binary); add a probe from the page, see its hit rate, durations and events with
// values, remove it; open a deep link in a fresh browser. Screenshots of each main view go to
// test-artifacts/web/ (gitignored) for a person to look at.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import type { FiringView, InvestigationView } from '../../src/api/investigation-views.js';
import { launchChromium, screenshot, unnamedControls } from '../../support/chromium.js';
import { type DemoInfo, killDemo, startDemo } from '../../support/demo-run.js';

const dir = mkdtempSync(join(tmpdir(), 'periscope-web-'));
let info: DemoInfo;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** The snapshot the test takes through the app. */
let snapshotId = 0;
/** The deep link of the stuck request's inventory goroutine. */
let deepLink = '';
const errors: string[] = [];
/** The derived table the test saves (a new name per run: DEVDEMO reuses one server). */
const derived = `web_oldest_per_user_${process.pid}`;

before(async () => {
  [info, browser] = await Promise.all([
    process.env.DEVDEMO
      ? Promise.resolve(JSON.parse(readFileSync(process.env.DEVDEMO, 'utf8')) as DemoInfo)
      : startDemo(dir, ['--stuck-after', '1s', '--stuck-for', '10m']).then((d) => d.info),
    launchChromium(),
  ]);
  context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(20_000);
});

after(async () => {
  await browser?.close();
  killDemo(dir);
  rmSync(dir, { recursive: true, force: true });
});

/** A screenshot of a main view, whose every control must have an accessible name. */
async function shot(p: Page, name: string): Promise<void> {
  await screenshot(p, name);
  assert.deepEqual(await unnamedControls(p), [], `controls without an accessible name in ${name}`);
}

/** Signs in on the sign-in page the app shows. */
/** Waits until an input's value is `want` (for up to 10 s); fails naming the value it had. */
async function valueBecomes(input: Locator, want: string): Promise<void> {
  let got = '';
  for (const until = Date.now() + 10_000; Date.now() < until; await sleep(50)) {
    got = await input.inputValue();
    if (got === want) return;
  }
  assert.equal(got, want);
}

async function signIn(p: Page): Promise<void> {
  await p.getByLabel('Token').fill(info.userToken);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

test('nothing but the sign-in page without a session; signing in goes where the link pointed', {
  timeout: 90_000,
}, async () => {
  await page.goto(`${info.server}/agents`);
  await page.waitForURL(/\/signin\?next=%2Fagents/);
  assert.equal(await page.getByRole('navigation', { name: 'Views' }).count(), 0);
  await shot(page, '01-sign-in');
  await page.getByLabel('Token').fill('psk_000000000000_wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
  await signIn(page);
  await page.waitForURL(`${info.server}/agents`);
  await page.getByRole('table', { name: 'Agents' }).getByText('connected').waitFor();
  const procs = page.getByRole('table', { name: 'Monitored processes' });
  for (const program of ['inventory', 'orders', 'gateway', 'loadgen'])
    await procs.getByRole('cell', { name: program, exact: true }).waitFor();
  await shot(page, '02-agents');
  // The token is nowhere a script can read it.
  assert.equal(await page.evaluate('document.cookie'), '');
  const stored = await page.evaluate<string>('JSON.stringify(sessionStorage) + JSON.stringify(localStorage)');
  assert.ok(!stored.includes('psk_'), stored);
});

test('take a snapshot with labels; it is listed with them', { timeout: 90_000 }, async () => {
  await page.getByRole('link', { name: 'Snapshots' }).click();
  await page.getByLabel('Snapshot labels').fill('case=web-e2e');
  await page.getByRole('button', { name: 'Take snapshot' }).click();
  const status = page.getByRole('status').filter({ hasText: /Snapshot \d+: 4 of 4 processes captured/ });
  await status.waitFor({ timeout: 60_000 });
  snapshotId = Number(/Snapshot (\d+)/.exec((await status.textContent()) ?? '')?.[1]);
  assert.ok(snapshotId > 1);
  const row = page
    .getByRole('table', { name: 'Snapshots' })
    .getByRole('row')
    .filter({ hasText: 'case=web-e2e' })
    .first();
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', /gateway, inventory, loadgen, orders/);
  await shot(page, '03-snapshots');
  // Search by label.
  await page.getByLabel('Label filter').fill('case=web-e2e');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/label=case%3Dweb-e2e/);
  // The demo's own first snapshot has no such label: it leaves the list.
  await page
    .getByRole('row', { name: new RegExp(`^Compare snapshot ${info.snapshotId} `) })
    .waitFor({ state: 'detached' });
  await row.waitFor();
});

test('find the stuck request by its age and follow its links to the server goroutines', {
  timeout: 90_000,
}, async () => {
  // The demo's in-flight requests with their age (captured request start times): the stuck one
  // (item sku-13) is among the oldest in the load generator.
  const sql =
    "SELECT request_id, user_id, item, age_ms, process_id, goroutine_id FROM in_flight_requests WHERE service = 'loadgen' ORDER BY age_ms DESC";
  await page.goto(`${info.server}/tables?snapshot=${snapshotId}&sql=${encodeURIComponent(sql)}`);
  const grid = page.getByRole('table', { name: 'Query results' });
  // By the item's own cell: a row's text runs its cells together ("sku-1" then "3561" reads "sku-13561").
  const stuck = grid
    .getByRole('row')
    .filter({ has: page.getByRole('cell', { name: 'sku-13', exact: true }) });
  await stuck.waitFor();
  const age = Number((await stuck.getByRole('cell').nth(4).textContent()) ?? 0);
  assert.ok(age >= 500, `the stuck request is ${age} ms old`);
  await stuck.getByRole('link', { name: "Open this row's goroutine" }).click();
  await page.waitForURL(new RegExp(`/snapshots/${snapshotId}\\?g=`));

  // loadgen -> gateway -> orders -> inventory, each by the link icon of the calling frame.
  const detail = page.locator('section.detail');
  const hops: string[] = [];
  for (const program of ['loadgen', 'gateway', 'orders', 'inventory']) {
    await detail
      .getByRole('heading')
      .filter({ hasText: ` in ${program} ` })
      .waitFor();
    hops.push(program);
    await detail.getByText('user=dave').or(detail.getByText('"dave"')).first().waitFor();
    if (program === 'inventory') break;
    const icon = detail.locator('li.frame a.linkicon', { hasText: '⇢' }).first();
    await icon.click();
  }
  assert.deepEqual(hops, ['loadgen', 'gateway', 'orders', 'inventory']);
  // The inventory goroutine sleeps in writeLedger with the lock held; its captured values show it.
  const ledger = detail.locator('li.frame').filter({ hasText: 'main.(*inventoryServer).writeLedger' });
  await ledger.waitFor();
  await ledger.getByText('"sku-13"').first().waitFor();
  deepLink = page.url();
  await shot(page, '04-goroutine-linked');
  // And back: its "called by" link leads to the orders goroutine.
  await detail
    .getByRole('link', { name: /called by/ })
    .first()
    .click();
  await detail.getByRole('heading').filter({ hasText: ' in orders ' }).waitFor();
  await page.goBack();
  await detail.getByRole('heading').filter({ hasText: ' in inventory ' }).waitFor();
});

test('goroutines: filters in the URL and kept across snapshots, the flame graph filters, keyboard', {
  timeout: 90_000,
}, async () => {
  await page.goto(`${info.server}/snapshots/${snapshotId}`);
  const groups = page.getByRole('list', { name: 'Goroutines grouped by identical stack' });
  await groups.locator('button.ghead').first().waitFor();
  await shot(page, '05-goroutines');
  // Keyboard: the first group takes focus, ↓ moves on, → opens it.
  await groups.locator('button.ghead').first().focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowRight');
  const focused = page.locator('button.ghead:focus');
  assert.equal(
    await focused.getAttribute('data-group-item'),
    await groups.locator('button.ghead').nth(1).getAttribute('data-group-item'),
  );
  await page.locator('button.ghead[aria-expanded="true"]').waitFor();
  // Opened, it lists its frames with file:line (fetched then) and its goroutines.
  await groups
    .locator('.gframe')
    .filter({ hasText: /\.(go|s):\d+/ })
    .first()
    .waitFor();
  await groups.locator('.grow').first().waitFor();

  // A flame graph box filters by its stack prefix.
  const box = page.locator('.fbox').filter({ hasText: 'main.(*inventoryServer).reserve' }).first();
  await box.click();
  await page.waitForURL(/prefix=/);
  await page.getByText(/stack starts with \d+ frames/).waitFor();
  const heads = await groups.locator('button.ghead .fname').allTextContents();
  assert.ok(heads.length > 0);
  await shot(page, '06-goroutines-flame-filter');

  // Function filter, typed; then switch to the first snapshot: the filters stay.
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.getByRole('textbox', { name: 'Function' }).fill('writeLedger');
  await page.keyboard.press('Enter');
  await page.waitForURL(/fn=writeLedger/);
  // Groups are named by the program's own innermost frame (not time.Sleep, where it is parked).
  await groups.locator('button.ghead').filter({ hasText: 'writeLedger' }).first().waitFor();
  await groups.locator('button.ghead').filter({ hasText: 'in time.Sleep' }).first().waitFor();
  await page.getByLabel('Switch snapshot (filters are kept)').selectOption('1');
  await page.waitForURL(/\/snapshots\/1\?fn=writeLedger/);
  await page
    .getByText(/Snapshot 1/)
    .first()
    .waitFor();

  // Dark theme, for a look.
  await page.goto(deepLink);
  await page.locator('section.detail li.frame').first().waitFor();
  // The arrow keys walk the goroutine's stack, frame by frame.
  const frames = page.getByRole('list', { name: 'Frames, innermost first' }).locator('li.frame');
  await frames.first().focus();
  await page.keyboard.press('ArrowDown');
  assert.match((await page.locator('li.frame:focus .fname').textContent()) ?? '', /writeLedger/);
  await page.keyboard.press('ArrowUp');
  assert.equal(
    await page.locator('li.frame:focus .fname').textContent(),
    await frames.first().locator('.fname').textContent(),
  );
  await page.getByRole('button', { name: 'Switch to the dark theme' }).click();
  assert.equal(await page.evaluate('document.documentElement.dataset.theme'), 'dark');
  await shot(page, '07-goroutine-dark');
  await page.getByRole('button', { name: 'Switch to the light theme' }).click();
});

test('SQL with completion of tables, results, save as a derived table', { timeout: 90_000 }, async () => {
  await page.goto(`${info.server}/tables`);
  const editor = page.locator('.cm-content');
  await editor.waitFor();
  await editor.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.press('Delete');
  // Typed fast (as a person types): the editor's text must not fight the page's copy of it.
  await page.keyboard.type('SELECT user_id, max(age_ms) AS oldest_ms FROM in_flight_re');
  const completion = page.locator('.cm-tooltip-autocomplete');
  const option = completion.getByRole('option', { name: 'in_flight_requests' });
  // The table names come from the server (GET /v1/tables): on a loaded machine the first
  // completion can open before they arrived. Ask again (Ctrl-Space) until the table is offered.
  for (let end = Date.now() + 30_000; ; ) {
    if ((await completion.count()) === 0) await page.keyboard.press('Control+Space');
    try {
      await option.waitFor({ timeout: 3000 });
      break;
    } catch (e) {
      if (Date.now() > end) throw e;
      await page.keyboard.press('Escape');
    }
  }
  await option.click();
  assert.equal(
    await page.locator('.cm-content').textContent(),
    'SELECT user_id, max(age_ms) AS oldest_ms FROM in_flight_requests',
  );
  await page.keyboard.type(' GROUP BY user_id ORDER BY oldest_ms DESC');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  const grid = page.getByRole('table', { name: 'Query results' });
  await grid.getByRole('cell', { name: 'dave', exact: true }).waitFor();
  // Sort by a column.
  await grid.getByRole('button', { name: /user_id/ }).click();
  assert.equal(await grid.locator('th[aria-sort="ascending"]').count(), 1);
  await page.getByLabel('Derived table name').fill(derived);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page
    .getByRole('status')
    .filter({ hasText: new RegExp(`spec version \\d+ has the derived table ${derived}`) })
    .waitFor({ timeout: 60_000 });
  await page.getByRole('complementary', { name: 'Tables' }).getByText(derived).waitFor();
  await shot(page, '08-tables');
  // It is a table now.
  await page.goto(`${info.server}/tables?sql=${encodeURIComponent(`SELECT * FROM ${derived}`)}`);
  await page
    .getByRole('table', { name: 'Query results' })
    .getByRole('cell', { name: 'dave', exact: true })
    .waitFor();
});

test('spec: pick a binary and a function, add a capture checked live, see it in the next snapshot', {
  timeout: 120_000,
}, async () => {
  await page.getByRole('link', { name: 'Spec', exact: true }).click();
  await page.getByRole('combobox', { name: 'Program', exact: true }).selectOption('inventory');
  await page
    .getByRole('combobox', { name: 'Binary', exact: true })
    .locator('option')
    .first()
    .waitFor({ state: 'attached' });
  await page.getByRole('searchbox', { name: 'Search functions' }).fill('writeledger');
  const fn = 'main.(*inventoryServer).writeLedger';
  await page.getByRole('list', { name: 'Functions' }).getByRole('button', { name: fn, exact: true }).click();
  await page.waitForURL(/\/spec\?program=inventory.*fn=main/);
  const captures = page.getByRole('table', { name: 'Captures of this function' });
  const captureForm = page.getByRole('form', { name: 'Add a capture' });
  await captures.getByRole('cell', { name: 's.stuckItem' }).waitFor();
  // Its lines, read from the binary by the agent, with their source (readable on this machine)
  // and the variables live at each: one clicked fills the capture form, checked at once.
  const lines = page.getByRole('table', { name: `Lines of ${fn}` });
  await lines.getByRole('row').filter({ hasText: 'time.Sleep(d)' }).waitFor({ timeout: 60_000 });
  const ifLeft = lines.getByRole('row').filter({ hasText: 'if left < 0' });
  await ifLeft.getByRole('button', { name: /^Capture req \(\*.*ReserveRequest\) at line \d+$/ }).waitFor();
  await ifLeft.getByRole('button', { name: /^Capture left \(int\) at line \d+$/ }).click();
  // The form is filled when the page has rendered the click, not when click() returns.
  await valueBecomes(captureForm.getByLabel('Column', { exact: true }), 'left');
  await valueBecomes(captureForm.getByLabel('Expression'), 'left');
  const check = page.getByRole('status', { name: 'Check of the capture' });
  await check.getByText(/Fits every checked binary/).waitFor({ timeout: 60_000 });
  await shot(page, '09a-spec-lines');
  await page.getByRole('button', { name: 'Switch to the dark theme' }).click();
  await shot(page, '09b-spec-lines-dark');
  await page.getByRole('button', { name: 'Switch to the light theme' }).click();
  // A wrong field: the check against the real binary says so, naming the fields there are.
  await captureForm.getByLabel('Column', { exact: true }).fill('web_qty');
  await captureForm.getByLabel('Expression').fill('req.Nope');
  await check.getByText(/no field Nope .*Quantity/s).waitFor({ timeout: 60_000 });
  assert.equal(await page.getByRole('button', { name: 'Save', exact: true }).isDisabled(), true);
  await shot(page, '09-spec-invalid');
  await captureForm.getByLabel('Expression').fill('req.Quantity');
  await check.getByText(/Fits every checked binary/).waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const saved = check.getByText(/Saved: spec version \d+ captures web_qty/);
  await saved.waitFor({ timeout: 60_000 });
  const savedVersion = /version (\d+)/.exec((await saved.textContent()) ?? '')?.[1];
  await captures.getByRole('cell', { name: 'req.Quantity' }).waitFor();
  // The history: the new version, picked once listed, shows what it changed.
  const versions = page.getByRole('list', { name: 'Spec versions' });
  await versions.getByRole('link', { name: `version ${savedVersion}`, exact: true }).click();
  await page.waitForURL(/[?&]version=\d+/);
  // The new version (with the capture) checked on each binary of the fleet: it fits the inventory's.
  await page
    .getByRole('table', { name: `Spec version ${savedVersion} on each binary` })
    .getByRole('row')
    .filter({ hasText: 'demo-inventory' })
    .getByText('fits', { exact: true })
    .waitFor({ timeout: 60_000 });
  await page.locator('pre.diff span.add').filter({ hasText: 'web_qty: req.Quantity' }).waitFor();
  await shot(page, '10-spec');
  // A derived table defined here: checked as typed (a wrong column is named), then saved.
  const derivedForm = page.getByRole('form', { name: 'Define a derived table' });
  const table = `web_ledger_per_item_${process.pid}`;
  await derivedForm.getByRole('textbox', { name: 'Derived table', exact: true }).fill(table);
  const sqlBox = derivedForm.getByRole('textbox', { name: 'SQL', exact: true });
  await sqlBox.fill('SELECT item, count(*) AS writes FROM inventory_ledger_writes GROUP BY itm');
  const derivedCheck = page.getByRole('status', { name: 'Check of the derived table' });
  await derivedCheck.getByText(/"itm" not found/).waitFor({ timeout: 60_000 });
  assert.equal(await derivedForm.getByRole('button', { name: 'Save table' }).isDisabled(), true);
  await sqlBox.fill('SELECT item, count(*) AS writes FROM inventory_ledger_writes GROUP BY item');
  await derivedCheck.getByText("The spec's tables build with it.").waitFor({ timeout: 60_000 });
  await derivedForm.getByRole('button', { name: 'Save table' }).click();
  const derivedSaved = derivedCheck.getByText(
    new RegExp(`Saved: spec version \\d+ has the derived table ${table}`),
  );
  await derivedSaved.waitFor({ timeout: 60_000 });
  // Its version, once the history lists it, shows the table added.
  const derivedVersion = /version (\d+)/.exec((await derivedSaved.textContent()) ?? '')?.[1];
  await versions.getByRole('link', { name: `version ${derivedVersion}`, exact: true }).click();
  await page
    .locator('pre.diff span.add')
    .filter({ hasText: `name: ${table}` })
    .waitFor();
  // A function table defined here: a second table on a function another table captures on
  // fits (each table gets its rows from the function's frames); then one on the gRPC handler
  // under writeLedger, where a field the type lacks is refused live.
  const ftForm = page.getByRole('form', { name: 'Define a function table' });
  const ft = `web_reserve_${process.pid}`;
  await ftForm.getByRole('textbox', { name: 'Function', exact: true }).fill(fn);
  await ftForm.getByRole('textbox', { name: 'Function table', exact: true }).fill(ft);
  await ftForm.getByRole('textbox', { name: /^Columns/ }).fill('qty=req.Quantity');
  await page
    .getByRole('status', { name: 'Check of the function table' })
    .getByText(/Fits every checked binary/)
    .waitFor({ timeout: 60_000 });
  await ftForm
    .getByRole('textbox', { name: 'Function', exact: true })
    .fill('main.(*inventoryServer).Reserve');
  await ftForm.getByRole('textbox', { name: 'Function table', exact: true }).fill(ft);
  const ftColumns = ftForm.getByRole('textbox', { name: /^Columns/ });
  await ftColumns.fill('qty=req.Quantty');
  const ftCheck = page.getByRole('status', { name: 'Check of the function table' });
  await ftCheck.getByText(/no field Quantty/).waitFor({ timeout: 60_000 });
  assert.equal(await ftForm.getByRole('button', { name: 'Save function table' }).isDisabled(), true);
  await ftColumns.fill('qty=req.Quantity\nreq.Item');
  await ftCheck.getByText(/Fits every checked binary/).waitFor({ timeout: 60_000 });
  await shot(page, '10b-spec-function-table');
  await ftForm.getByRole('button', { name: 'Save function table' }).click();
  await ftCheck
    .getByText(new RegExp(`Saved: spec version \\d+ has the function table ${ft}`))
    .waitFor({ timeout: 60_000 });
  // The next snapshot captures it on the stuck request's inventory goroutine.
  await page.getByRole('link', { name: 'Snapshots' }).click();
  await page.getByLabel('Snapshot labels').fill('case=web-spec');
  await page.getByRole('button', { name: 'Take snapshot' }).click();
  const status = page.getByRole('status').filter({ hasText: /Snapshot \d+: 4 of 4 processes captured/ });
  await status.waitFor({ timeout: 60_000 });
  const next = Number(/Snapshot (\d+)/.exec((await status.textContent()) ?? '')?.[1]);
  assert.ok(next > snapshotId);
  await page.goto(deepLink.replace(`/snapshots/${snapshotId}?`, `/snapshots/${next}?`));
  const ledger = page.locator('section.detail li.frame').filter({ hasText: fn });
  await ledger.getByText('web_qty').waitFor();
  // The function table has that snapshot's row in the Tables view.
  await page.goto(
    `${info.server}/tables?sql=${encodeURIComponent(`SELECT qty, req_item FROM ${ft} WHERE snapshot_id = ${next}`)}`,
  );
  await page.getByRole('complementary', { name: 'Tables' }).getByText(ft).waitFor();
  await page.getByRole('table', { name: 'Query results' }).getByRole('row').nth(1).waitFor();
});

test('probes: add one on a demo function from the page, see its hit rate and events with values, remove it', {
  timeout: 90_000,
}, async () => {
  const name = `web_orders_${process.pid}`;
  await page.getByRole('link', { name: 'Probes', exact: true }).click();
  const form = page.getByRole('form', { name: 'Add a probe' });
  await form.getByRole('textbox', { name: 'Name', exact: true }).fill(name);
  await form.getByLabel('Program').selectOption('gateway');
  await form.getByRole('textbox', { name: 'Function', exact: true }).fill('main.(*gateway).placeOrder');
  // A field the type does not have: the server's check refuses it, naming the binary.
  await form.getByLabel(/^Captures/).fill('user=req.User\nitem=req.Itme');
  await form.getByRole('button', { name: 'Add probe' }).click();
  const check = page.getByRole('status', { name: 'Check of the probe' });
  const gateway = check
    .getByRole('table', { name: 'Binaries the probe was checked against' })
    .getByRole('row')
    .filter({ hasText: 'demo-gateway' });
  await gateway.getByText('does not fit').waitFor({ timeout: 60_000 });
  await gateway.getByText(/no field Itme .*its fields: .*\bItem\b/).waitFor();
  await check.getByText(/Not added: it does not resolve in 1 of the 4 binaries checked/).waitFor();
  await shot(page, '12-probe-refused');
  await form.getByLabel(/^Captures/).fill('user=req.User\nitem=req.Item');
  await form.getByLabel('Time each call').check();
  await form.getByLabel('Keep stacks').check();
  await form.getByRole('button', { name: 'Add probe' }).click();
  await page.waitForURL(new RegExp(`/probes\\?probe=${name}$`));
  // Attached to the gateway process once the agent has placed it (the list looks again every second until then).
  const row = page.getByRole('table', { name: 'Probes' }).getByRole('row').filter({ hasText: name });
  await row.getByText(new RegExp(`:${info.pids.gateway}\\b`)).waitFor({ timeout: 30_000 });
  // Its events carry the captured values of the demo's requests.
  const events = page.getByRole('list', { name: `Events of ${name}, newest first` });
  const event = events
    .locator('li.event')
    .filter({ hasText: /item: "sku-\d+"/ })
    .first();
  await event.waitFor({ timeout: 30_000 });
  assert.match((await event.textContent()) ?? '', /user: "(alice|bob|carol|dave|erin)"/);
  // New events come in while the page stays (long polling), newest first.
  const firstSeen = await events.locator('li.event').count();
  const newestBefore = await events.locator('li.event').first().textContent();
  for (let waited = 0; ; waited += 200) {
    const now = events.locator('li.event');
    if ((await now.count()) > firstSeen && (await now.first().textContent()) !== newestBefore) break;
    assert.ok(waited < 30_000, `no new event on the page in 30 s (it showed ${firstSeen})`);
    await page.waitForTimeout(200);
  }
  // The hit rate and the durations count them (a chart's name says what it shows).
  await page
    .getByRole('img', { name: new RegExp(`^Hit rate of ${name}: [1-9][\\d,]* hits? in`) })
    .waitFor({ timeout: 30_000 });
  await page
    .getByRole('img', { name: new RegExp(`^Durations of ${name}: [1-9][\\d,]* calls? timed`) })
    .waitFor({ timeout: 30_000 });
  // Its events' stacks, counted by distinct stack in the database, drawn as a flame graph
  // whose every stack goes through placeOrder.
  const flame = page.getByRole('figure', {
    name: `Flame graph of the stacks of ${name}'s events, outermost frame at the top`,
  });
  await flame
    .getByRole('img', { name: /^main\.\(\*gateway\)\.placeOrder: [1-9][\d,]* events? \(100\.0%\)$/ })
    .waitFor({ timeout: 30_000 });
  // The list's totals count them too (it looks again every 3 s).
  await row
    .locator('td.num')
    .first()
    .filter({ hasText: /^[1-9]/ })
    .waitFor();
  await shot(page, '13-probes');
  // Remove it: gone from the list and from the URL.
  await row.getByRole('button', { name: `Remove probe ${name}` }).click();
  await page.getByRole('status', { name: 'Probe changes' }).getByText(`Removed probe ${name}`).waitFor();
  await row.waitFor({ state: 'detached' });
  await page.waitForURL(/\/probes$/);
});

/** A call of the server's API with the user token (what the CLI does). */
async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${info.server}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${info.userToken}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** The deep links of an investigation's page and of a kept trace's page. */
let investigationLink = '';
let traceLink = '';

test('investigations: one added through the API fires on its schedule; its firing, report and snapshot on its page; closed from it', {
  timeout: 90_000,
}, async () => {
  // One added from the page: a refusal of the server is shown by the form, then it is listed.
  await page.getByRole('link', { name: 'Investigations', exact: true }).click();
  const addForm = page.getByRole('form', { name: 'Add an investigation' });
  const formName = `web-form-${process.pid}`;
  await addForm.getByRole('textbox', { name: 'Name', exact: true }).fill(formName);
  await addForm.getByRole('textbox', { name: 'Question' }).fill('is the ledger still slow?');
  await addForm.getByRole('textbox', { name: 'Every' }).fill('1h');
  await addForm.getByRole('textbox', { name: /^Report/ }).fill('n=SELECT count(*) FROM goroutinez');
  await addForm.getByRole('button', { name: 'Add investigation' }).click();
  await addForm
    .getByRole('alert')
    .filter({ hasText: /goroutinez/ })
    .waitFor();
  await addForm.getByRole('textbox', { name: /^Report/ }).fill('n=SELECT count(*) FROM goroutines');
  await addForm.getByRole('button', { name: 'Add investigation' }).click();
  const addedText = await addForm
    .getByRole('status', { name: 'Investigation added' })
    .getByText(`Added investigation ${formName}`)
    .textContent();
  await page
    .getByRole('table', { name: 'Investigations' })
    .getByRole('row')
    .filter({ hasText: formName })
    .getByText('is the ledger still slow?')
    .waitFor();
  await api('POST', `/v1/investigations/${/#(\d+)/.exec(addedText ?? '')?.[1]}/close`);
  // Left, so that the link below opens the list anew.
  await page.getByRole('link', { name: 'Snapshots', exact: true }).click();
  const name = `web-inv-${process.pid}`;
  const added = await api<InvestigationView>('POST', '/v1/investigations', {
    name,
    question: 'what do the inventory goroutines wait on?',
    triggers: [{ schedule: { every: '1s', select: 'program=inventory' } }],
    report: [
      {
        name: 'waiting',
        sql: 'SELECT top_function, count(*)::INT AS n FROM goroutines GROUP BY 1 ORDER BY n DESC, 1 LIMIT 5',
      },
    ],
    limits: { maxFires: 1 },
  });
  let firing: FiringView | undefined;
  for (let waited = 0; !firing; waited += 250) {
    assert.ok(waited < 30_000, 'the investigation did not fire in 30 s');
    await page.waitForTimeout(250);
    firing = (await api<InvestigationView>('GET', `/v1/investigations/${added.id}`)).firings?.[0];
  }
  assert.ok(firing.snapshotId !== undefined && firing.reportRows > 0, JSON.stringify(firing));
  await page.getByRole('link', { name: 'Investigations', exact: true }).click();
  const row = page.getByRole('table', { name: 'Investigations' }).getByRole('row').filter({ hasText: name });
  await row.getByRole('cell', { name: 'every 1s, snapshot program=inventory', exact: true }).waitFor();
  await row.getByRole('cell', { name: '1 / 1', exact: true }).waitFor();
  await shot(page, '14-investigations');
  await row.getByRole('link', { name, exact: true }).click();
  investigationLink = `${info.server}/investigations/${added.id}`;
  await page.waitForURL(investigationLink);
  await page.getByRole('heading', { name: `Investigation ${name} (open)` }).waitFor();
  await page.getByText('at most 1 firing', { exact: true }).waitFor();
  const firings = page.getByRole('table', { name: 'Firings' });
  const snapLink = firings.getByRole('link', { name: `Goroutines of snapshot ${firing.snapshotId}` });
  await snapLink.waitFor();
  await firings.getByRole('cell', { name: 'schedule', exact: true }).waitFor();
  // Its report's rows, as a grid: inventory's goroutines by function, counted.
  const report = page.getByRole('table', { name: /^Report waiting of the firing at / });
  await report.getByRole('columnheader', { name: /top_function/ }).waitFor();
  const rows = report.getByRole('row').filter({ has: page.getByRole('cell', { name: /^[1-9]\d*$/ }) });
  assert.equal(await rows.count(), Math.min(firing.reportRows, 5));
  await shot(page, '15-investigation');
  // The firing's snapshot opens in the goroutines view.
  await snapLink.click();
  await page.waitForURL(new RegExp(`/snapshots/${firing.snapshotId}$`));
  await page
    .getByRole('list', { name: 'Goroutines grouped by identical stack' })
    .locator('button.ghead')
    .first()
    .waitFor();
  // Closing asks first; cancelled, it stays open; confirmed, it is closed.
  await page.goBack();
  await page.getByRole('button', { name: 'Close investigation' }).click();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Close investigation' }).click();
  await page.getByRole('button', { name: `Yes, close ${name}` }).click();
  await page.getByRole('heading', { name: `Investigation ${name} (closed)` }).waitFor();
  assert.equal((await api<InvestigationView>('GET', `/v1/investigations/${added.id}`)).state, 'closed');
});

test("request traces: a trace on the gateway's placeOrder keeps the failed orders; one opens with its events and goroutines", {
  timeout: 90_000,
}, async () => {
  const trace = `web_orders_${process.pid}`;
  const spec = await api<{ yaml: string }>('GET', '/v1/spec');
  // The demo's carol has no billing account: her orders fail within seconds.
  const yaml = `${spec.yaml.trimEnd()}
traces:
  - name: ${trace}
    program: gateway
    function: main.(*gateway).placeOrder
    start: { user: req.User, item: req.Item }
    error: r1
    keep: error
`;
  await api('PUT', '/v1/spec', { yaml, source: 'web e2e' });
  await page.getByRole('link', { name: 'Traces', exact: true }).click();
  await page.getByLabel('Outcome').selectOption('error');
  await page.waitForURL(/\/traces\?outcome=error$/);
  const list = page.getByRole('table', { name: 'Kept traces' });
  const kept = list.getByRole('row').filter({ hasText: trace }).first();
  for (let waited = 0; (await kept.count()) === 0; waited += 1000) {
    assert.ok(waited < 40_000, 'no kept trace in 40 s');
    await page.waitForTimeout(1000);
    await page.getByRole('button', { name: 'Refresh' }).click();
  }
  await kept.getByText(/user=carol item=sku-\d+/).waitFor();
  await kept.getByText(/no billing account for user "carol"/).waitFor();
  await page.getByLabel('Trace', { exact: true }).selectOption(trace);
  await page.waitForURL(new RegExp(`/traces\\?trace=${trace}&outcome=error$`));
  // What the trace kept and dropped this last hour (`trace_counts`, sent by the agent per interval).
  const counted = page
    .getByRole('table', { name: 'Trace counts of the last hour' })
    .getByRole('row')
    .filter({ hasText: trace });
  for (let waited = 0; (await counted.count()) === 0; waited += 1000) {
    assert.ok(waited < 40_000, 'no trace counts in 40 s');
    await page.waitForTimeout(1000);
    await page.getByRole('button', { name: 'Refresh' }).click();
  }
  await shot(page, '16-traces');
  await kept.getByRole('link').click();
  await page.waitForURL(/\/traces\/[^/?]+$/);
  traceLink = page.url();
  await page.getByRole('heading', { name: `Trace ${trace} (error)` }).waitFor();
  const events = page.getByRole('table', { name: 'Trace events' });
  await events.getByRole('cell', { name: 'start', exact: true }).waitFor();
  await events.getByRole('cell', { name: 'end', exact: true }).waitFor();
  await events.getByText('"carol"').first().waitFor();
  await page.getByRole('list', { name: 'Goroutines of the request' }).getByRole('listitem').first().waitFor();
  await shot(page, '17-trace');
  // Taken off the spec again: the next tests see the demo's own.
  await api('PUT', '/v1/spec', { yaml: spec.yaml, source: 'web e2e' });
});

test('the diff of two snapshots', { timeout: 90_000 }, async () => {
  await page.goto(`${info.server}/diff?a=${info.snapshotId}&b=${snapshotId}`);
  const still = page.getByRole('region', { name: 'Still blocked at the same place' });
  await still.getByRole('row').nth(1).waitFor();
  // Named as the goroutines view names groups: the program's own frame, then where it is parked.
  await still
    .getByRole('row')
    .filter({ hasText: /main\.\(\*inventoryServer\)\.\w+ inventory\/main\.go:\d+ · in / })
    .first()
    .waitFor();
  await shot(page, '11-diff');
  // A snapshot of the URL that does not exist is said so (not shown as everything gone).
  await page.goto(`${info.server}/diff?a=${info.snapshotId}&b=99999`);
  await page.getByRole('alert').filter({ hasText: 'There is no snapshot 99999' }).waitFor();
  assert.equal(await page.getByRole('region', { name: 'Gone since the first snapshot' }).count(), 0);
});

test('deep links open in a fresh browser after signing in: the same goroutine, a spec function, a query', {
  timeout: 90_000,
}, async () => {
  const fresh = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    const p = await fresh.newPage();
    await p.goto(deepLink);
    await p.waitForURL(/\/signin\?next=/);
    await signIn(p);
    await p.waitForURL(deepLink);
    await p.locator('section.detail').getByRole('heading').filter({ hasText: ' in inventory ' }).waitFor();
    await p.locator('li.frame').filter({ hasText: 'writeLedger' }).waitFor();
    // Other views' links open as they were: a function of the Spec view (its lines), a query
    // of the Tables view (run).
    const fn = 'main.(*inventoryServer).writeLedger';
    await p.goto(`${info.server}/spec?program=inventory&fn=${encodeURIComponent(fn)}`);
    await p
      .getByRole('table', { name: `Lines of ${fn}` })
      .getByRole('row')
      .filter({ hasText: 'time.Sleep(d)' })
      .waitFor();
    await p.goto(
      `${info.server}/tables?sql=${encodeURIComponent(`SELECT count(*) AS n_${process.pid} FROM goroutines`)}`,
    );
    await p.getByRole('table', { name: 'Query results' }).getByText(`n_${process.pid}`).waitFor();
    // An investigation's page and a kept trace's page.
    await p.goto(investigationLink);
    await p.getByRole('table', { name: 'Firings' }).getByRole('row').nth(1).waitFor();
    await p.goto(traceLink);
    await p
      .getByRole('table', { name: 'Trace events' })
      .getByRole('cell', { name: 'start', exact: true })
      .waitFor();
  } finally {
    await fresh.close();
  }
  assert.deepEqual(errors, []);
});
