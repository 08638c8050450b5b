// The dashboard in a real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core): load it with Basic auth, check the counts of
// the known state the calling test made, check that a hostile event id is
// shown as text, press "Retry" on one dead letter and "Retry all" on a
// route, and see the events processed. Run by tests/integration/
// test_dashboard_browser.c, which starts Redis, a receiver and a worker.
//
// Environment:
//   HOOKD_ADMIN_URL    http://127.0.0.1:PORT of the admin listener
//   HOOKD_ADMIN_TOKEN  the admin token (sent as the Basic password)
//   HOOKD_EXPECT       JSON: {"routes": {ROUTE: {COLUMN: N}}, "retry": {"route", "event_id"},
//                      "retry_all": ROUTE, "hostile": ID, "throttle": {SOURCE: RATE}};
//                      the caller pauses "retry_all"'s route once its letters are processed
//   HOOKD_SCREENSHOT   where to save a PNG of the page
//   HOOKD_PROFILE_DIR  a fresh, empty directory for Chromium's profile
// Exit 0 when every check passed; otherwise 1 with the reason on stderr.
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env('HOOKD_ADMIN_URL');
const token = env('HOOKD_ADMIN_TOKEN');
const expected = JSON.parse(env('HOOKD_EXPECT'));
const screenshot = env('HOOKD_SCREENSHOT');
const profile = env('HOOKD_PROFILE_DIR');
const STEP_MS = 15000;

function check(cond, what) {
  if (!cond) throw new Error(what);
  console.log(`ok: ${what}`);
}

const cell = (page, route, col) => page.locator(`#routes tr[data-route="${route}"] td[data-col="${col}"]`);

async function waitCell(page, route, col, want) {
  await page.waitForFunction(([sel, w]) => {
    const td = document.querySelector(sel);
    return td && td.textContent === String(w);
  }, [`#routes tr[data-route="${route}"] td[data-col="${col}"]`, want], { timeout: STEP_MS })
    .catch(async () => {
      const got = await cell(page, route, col).textContent().catch(() => '(missing)');
      throw new Error(`route ${route} column ${col}: want ${want}, shows ${got}`);
    });
}

// The dead-letter row of EVENT_ID on ROUTE (its event-id cell matches exactly).
function deadRow(page, route, eventId) {
  return page.locator(`#dead table[data-dead-route="${route}"] tbody tr`)
    .filter({ has: page.getByText(eventId, { exact: true }) });
}

async function run() {
  const problems = [];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    httpCredentials: { username: 'operator', password: token },
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });

    const resp = await page.goto(url + '/');
    check(resp && resp.status() === 200, 'the page loads with Basic auth');
    await page.waitForSelector('#status.ok');

    // Opened as http://user:TOKEN@host/ (as people paste it): every request
    // still goes out (fetch() refuses URLs with credentials, so the page
    // must build them from location.origin).
    const withCreds = new URL(url + '/');
    withCreds.username = 'operator';
    withCreds.password = token;
    const credPage = await context.newPage();
    const credProblems = [];
    credPage.on('pageerror', (e) => credProblems.push(e.message));
    credPage.on('console', (m) => { if (m.type() === 'error') credProblems.push(m.text()); });
    await credPage.goto(withCreds.href);
    await credPage.waitForSelector('#status.ok, #status.error');
    check(await credPage.locator('#status.ok').count() === 1 && credProblems.length === 0,
      `the page opened as http://operator:TOKEN@host/ refreshes (${await credPage.locator('#status').textContent()}${credProblems.length ? '; ' + credProblems.join('; ') : ''})`);
    await credPage.close();

    // The known state.
    for (const [route, cols] of Object.entries(expected.routes)) {
      for (const [col, want] of Object.entries(cols)) await waitCell(page, route, col, want);
      check(true, `route ${route} shows ${JSON.stringify(cols)}`);
    }
    const { route, event_id: eventId } = expected.retry;
    await deadRow(page, route, eventId).waitFor();
    check(await deadRow(page, route, eventId).locator('td[data-col="state"]').textContent() === 'failed_permanent',
      `dead letter ${eventId} is listed as failed_permanent`);
    check((await page.locator('#signatures tbody tr').allTextContents()).some((t) => t.includes('no_match')),
      'the signature table shows the rejected signature');

    // Readiness, workers per route, charts, times with their zone.
    await page.locator('#ready.badge.ready').waitFor();
    check(await page.locator('#ready').textContent() === 'ready', 'the header says the receiver is ready');
    await waitCell(page, route, 'consumers', 1);
    check(true, `route ${route} shows its worker`);
    await page.waitForFunction(() => document.querySelectorAll('#charts svg.chart polyline').length === 3 &&
      (document.querySelector('#chart-backlog polyline').getAttribute('points') || '').split(' ').length >= 2);
    check(true, 'three charts (received/s, processed/s, backlog) are drawn');
    check(/ UTC$/.test(await deadRow(page, route, eventId).locator('td').nth(6).textContent()),
      'times say their time zone');

    // A dead letter's body and headers.
    await deadRow(page, route, eventId).getByRole('button', { name: 'Details' }).click();
    await page.locator('#dead-details pre[data-part="body"]').waitFor();
    check((await page.locator('#dead-details pre[data-part="headers"]').textContent()).toLowerCase().includes('x-github-delivery'),
      'Details shows the headers');
    check((await page.locator('#dead-details pre[data-part="body"]').textContent()).length > 0,
      'Details shows the body');

    // A hostile event id is text, not markup.
    await deadRow(page, route, expected.hostile).waitFor();
    check(await page.locator('#dead img, #dead script').count() === 0, 'no element was made from an event id');
    check(await page.evaluate(() => window.__pwned === undefined), 'no script ran from an event id');

    // "Retry" on one dead letter: replayed, then processed.
    await deadRow(page, route, eventId).getByRole('button', { name: 'Retry' }).click();
    await page.waitForFunction(() => /replayed 1/.test(document.getElementById('notice').textContent));
    check(true, `pressing Retry replayed ${eventId}`);
    await deadRow(page, route, eventId).locator('td[data-col="state"]', { hasText: /^processed$/ }).waitFor();
    const before = expected.routes[route].processed;
    await waitCell(page, route, 'processed', before + 1);
    await waitCell(page, route, 'replayed', (expected.routes[route].replayed || 0) + 1);
    check(true, `${eventId} was processed: route ${route} processed ${before + 1}`);

    // Its dead letter is resolved now: "Purge resolved" removes it, the
    // still-failed ones stay.
    const stillFailed = expected.routes[route].dead_letters - 1;
    await page.locator(`#dead table[data-dead-route="${route}"]`).locator('xpath=preceding-sibling::h2[1]')
      .getByRole('button', { name: 'Purge resolved' }).click();
    await page.waitForFunction(() => /Purged 1 resolved/.test(document.getElementById('notice').textContent));
    await waitCell(page, route, 'dead_letters', stillFailed);
    await deadRow(page, route, eventId).waitFor({ state: 'detached' });
    check(true, `Purge resolved removed ${eventId}'s dead letter`);

    // "Retry all" on another route.
    const other = expected.retry_all;
    await page.locator(`#routes tr[data-route="${other}"] button.retry-all`).click();
    await waitCell(page, other, 'processed', expected.routes[other].processed + expected.routes[other].dead_letters);
    check(true, `pressing Retry all processed route ${other}'s dead letters`);

    // The operators' brakes: the throttle override set before the page
    // opened, and the pause of route ${other} that the calling test sets once
    // its dead letters are processed.
    for (const [src, rate] of Object.entries(expected.throttle)) {
      await page.locator(`#throttle tr[data-source="${src}"] td.num`, { hasText: String(rate) }).waitFor();
      check(true, `the throttle table shows ${src} at ${rate}/s`);
    }
    await page.locator(`#routes tr[data-route="${other}"] .badge.paused`).waitFor();
    await page.waitForFunction((r) => document.getElementById('paused-routes').textContent === r, other);
    check(await page.locator('#routes .badge.paused').count() === 1, `route ${other} (only) shows the paused badge`);

    await page.screenshot({ path: screenshot, fullPage: true });
    check(problems.length === 0, `no page or console errors${problems.length ? ': ' + problems.join('; ') : ''}`);
  } finally {
    await context.close();
  }
}

run().then(() => process.exit(0), (e) => {
  console.error(`dashboard test failed: ${e.message}`);
  process.exit(1);
});
