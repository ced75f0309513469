// The tracker in real Chromium, run by e2e_test.go, which serves the site
// (SITE_URL), runs `mote serve` (COLLECTOR_URL) and then checks the rows
// that reached ClickHouse. This script drives the visits and asserts what
// only the browser knows: which requests it sent, that the collector took
// them, what it stored (nothing), and that the strict CSP was never broken.
import assert from 'node:assert/strict'
import { chromium } from 'playwright-core'

const SITE = process.env.SITE_URL
const COLLECTOR = process.env.COLLECTOR_URL
assert.ok(SITE && COLLECTOR, 'SITE_URL and COLLECTOR_URL must be set (run through go test ./tracker-js)')

// The collector suppresses hits from headless browsers as bots (their
// User-Agent says HeadlessChrome), which is right for crawlers but would
// leave this test nothing to check: the browser presents a normal desktop
// Chrome User-Agent instead. Both the command-line switch and the context
// option are needed: beacons sent while a page unloads leave without the
// context's override.
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', `--user-agent=${USER_AGENT}`],
})

const violations = []
const pageErrors = []

// visitor opens a browser context that records every beacon it sends to
// the collector, with the collector's answer, and every CSP violation.
async function visitor(name, options = {}, init) {
  const context = await browser.newContext({ userAgent: USER_AGENT, ...options })
  const beacons = []
  const answers = []
  context.on('request', (r) => {
    if (r.url().startsWith(COLLECTOR + '/api/event') || r.url().startsWith(COLLECTOR + '/p.gif')) {
      beacons.push({ url: r.url(), body: r.postData() && JSON.parse(r.postData()) })
    }
  })
  context.on('response', (r) => {
    if (r.url().startsWith(COLLECTOR + '/api/event')) answers.push(r.status())
  })
  await context.exposeBinding('__cspViolation', ({ page }, v) => violations.push({ visitor: name, page: page.url(), ...v }))
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__cspViolation({ directive: e.violatedDirective, blocked: e.blockedURI }))
  })
  if (init) await context.addInitScript(init)
  const page = await context.newPage()
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`))
  return { context, page, beacons, answers }
}

// until polls cond (a function of nothing) for up to 5s.
async function until(what, cond) {
  for (let i = 0; i < 100; i++) {
    if (cond()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  const sent = (typeof main === 'undefined' ? [] : main.beacons).map((b) => JSON.stringify(b.body))
  assert.fail(`timed out waiting for ${what}; the main visitor sent:\n${sent.join('\n')}`)
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const named = (beacons, n) => beacons.filter((b) => b.body && b.body.n === n)
const views = (beacons) => beacons.filter((b) => b.body && !b.body.n).map((b) => new URL(b.body.u).pathname)
const trackerLoaded = (page) => page.evaluate(() => typeof window.mote === 'function' && typeof window.mote.optOut === 'function')

// 1. A visitor from a news site: landing pageview, a queued event, a
// download (the page stays), an outbound click (the page leaves).
const main = await visitor('main')
{
  const { page, beacons } = main
  await page.goto(SITE + '/', { referer: 'https://news.example/item?id=1' })
  await until('the landing pageview and the queued event', () => views(beacons).includes('/') && named(beacons, 'Queued').length)
  await page.click('#download')
  await until('the download event', () => named(beacons, 'File Download').length)
  await Promise.all([page.waitForURL(/\/away/), page.click('#out')])
  await until('the outbound event', () => named(beacons, 'Outbound Link: Click').length)

  // 2. A single-page app: three pushState/replaceState routes and a back.
  await page.goto(SITE + '/app')
  await until('the /app pageview', () => views(beacons).includes('/app'))
  for (const id of ['#to-a', '#to-b', '#tab', '#back']) {
    await page.click(id)
    await sleep(150)
  }
  await until('the popstate pageview', () => views(beacons).filter((p) => p === '/app/a').length === 2)
  await page.click('#signup')
  await until('the Signup event', () => named(beacons, 'Signup').length)
  assert.deepEqual(views(beacons).filter((p) => p.startsWith('/app')), ['/app', '/app/a', '/app/b', '/app/a'])

  // 3. A long read: scrolled to the end, then left for a 404 page.
  await page.goto(SITE + '/long')
  await until('the /long pageview', () => views(beacons).includes('/long'))
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight))
  await sleep(1500)
  // Chromium sends the engagement beacon as the page unloads, but the
  // DevTools protocol does not report requests of an unloading page:
  // e2e_test.go finds the engagement row in ClickHouse instead.
  await page.goto(SITE + '/missing')
  await until('the 404 event', () => named(beacons, '404').length)

  // 4. Consent required: nothing until the visitor agrees.
  await page.goto(SITE + '/consent')
  await sleep(500)
  assert.ok(await trackerLoaded(page), 'tracker not loaded on /consent')
  assert.equal(beacons.filter((b) => b.body.s === 'strict').length, 0, 'sent before consent')
  await page.click('#agree')
  await until('the consented pageview', () => beacons.some((b) => b.body.s === 'strict'))
  assert.deepEqual(beacons.filter((b) => b.body.s === 'strict').map((b) => [new URL(b.body.u).pathname, b.body.c]), [['/consent', 1]])

  // The collector took (202) every beacon whose answer the page lived to
  // see: an answer that arrives after its page left is not reported, and
  // e2e_test.go finds those beacons' rows in ClickHouse. No beacon carries
  // a key outside the body format.
  assert.ok(main.answers.length > 0 && main.answers.every((s) => s === 202), `collector answers ${main.answers}`)
  for (const b of beacons) {
    for (const k of Object.keys(b.body)) assert.ok('snurwcptd'.includes(k), `beacon key ${k}`)
  }

  // 5. After all that, the browser holds no cookie and no storage entry.
  await page.goto(SITE + '/')
  await until('the last pageview', () => views(beacons).filter((p) => p === '/').length === 2)
  assert.deepEqual(await main.context.cookies(), [], 'cookies')
  const state = await main.context.storageState()
  assert.deepEqual(state.cookies, [], 'cookies in storage state')
  assert.deepEqual(state.origins, [], 'localStorage in storage state')
  assert.deepEqual(
    await page.evaluate(async () => [localStorage.length, sessionStorage.length, (await indexedDB.databases()).length]),
    [0, 0, 0],
    'localStorage, sessionStorage, IndexedDB entries',
  )
}

// 6. Global Privacy Control and Do Not Track: the tracker loads, sends
// nothing, whatever happens on the page. What is sent while a page unloads
// is not seen here; e2e_test.go checks that the collector counted no
// DNT or GPC hit at all.
for (const [name, headers, init] of [
  ['gpc', { 'Sec-GPC': '1' }, () => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })],
  ['dnt', { DNT: '1' }, () => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' })],
]) {
  const v = await visitor(name, { extraHTTPHeaders: headers }, init)
  await v.page.goto(`${SITE}/private/${name}`)
  assert.ok(await v.page.evaluate(() => navigator.globalPrivacyControl === true || navigator.doNotTrack === '1'))
  await sleep(300)
  assert.ok(await trackerLoaded(v.page), `${name}: tracker not loaded`)
  await v.page.evaluate(() => mote('ShouldNotSend'))
  await v.page.click('#download')
  await v.page.goto(SITE + '/away') // leaving would send engagement
  await sleep(500)
  assert.deepEqual(v.beacons, [], `${name}: beacons sent`)
  await v.context.close()
}

// 7. The visitor's own opt-out: one localStorage flag, then silence.
{
  const v = await visitor('optout')
  await v.page.goto(SITE + '/optout')
  await until('the pageview before opting out', () => v.beacons.length >= 1)
  await v.page.evaluate(() => mote.optOut())
  const before = v.beacons.length
  await v.page.reload()
  await v.page.evaluate(() => mote('AfterOptOut'))
  await sleep(500)
  assert.equal(v.beacons.length, before, 'sent after opting out')
  assert.deepEqual(await v.page.evaluate(() => Object.entries(localStorage)), [['mote_optout', '1']])
  await v.context.close()
}

// 8. The violation listener works (positive control), and only the
// canary broke the policy.
{
  const v = await visitor('canary')
  await v.page.goto(SITE + '/csp-canary')
  await until('the canary violation', () => violations.some((x) => x.visitor === 'canary'))
  await v.context.close()
}
assert.deepEqual(violations.filter((x) => x.visitor !== 'canary'), [], 'CSP violations')
assert.deepEqual(pageErrors, [], 'page errors')

console.log(JSON.stringify({ chromium: browser.version(), beacons: main.beacons.length }))
await main.context.close()
await browser.close()
