// The browser part of TestJourney (journey_test.go): Debian's Chromium
// loads PAGE_URL, a page that holds exactly the tracker tag `make run`
// printed, then navigates like a single-page app and sends a custom event.
// It prints the beacons the browser sent, one JSON line each, and fails
// when the collector did not take one.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

// playwright-core comes from the tracker's pinned modules (make tracker-deps).
const require = createRequire(process.env.NODE_MODULES + '/')
const { chromium } = require('playwright-core')

// Headless Chromium says HeadlessChrome in its user agent, a bot to the
// privacy gate: present a desktop Chrome's instead (switch and context
// both, as the tracker's own browser test explains).
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-agent=${UA}`],
})
const context = await browser.newContext({ userAgent: UA })
const beacons = []
const answers = []
context.on('request', (r) => { if (r.url().includes('/api/event')) beacons.push(JSON.parse(r.postData())) })
context.on('response', (r) => { if (r.url().includes('/api/event')) answers.push(r.status()) })
const page = await context.newPage()
const errors = []
page.on('pageerror', (e) => errors.push(e.message))

// A pageview beacon carries no name (n); events and engagement do.
const pageviews = () => beacons.filter((b) => !b.n)

async function until (what, cond) {
  for (let i = 0; i < 200; i++) {
    if (cond()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}; beacons: ${JSON.stringify(beacons)}`)
}

await page.goto(process.env.PAGE_URL)
await until('the pageview', () => pageviews().length === 1)
await page.evaluate(() => history.pushState({}, '', '/journey/step-2'))
await until('the SPA pageview', () => pageviews().length === 2)
await page.evaluate(() => new Promise((resolve) => window.mote('Journey Signup', { props: { plan: 'pro' }, callback: resolve })))
await until('the custom event', () => beacons.some((b) => b.n === 'Journey Signup'))
await until('three answers', () => answers.length >= 3)
await browser.close()

assert.deepEqual(errors, [], 'page errors')
assert.ok(answers.every((s) => s === 202), `collector answers ${answers}`)
for (const b of beacons) console.log(JSON.stringify(b))
