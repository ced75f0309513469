// The dashboard in Debian's Chromium, run by browser_test.go, which serves
// the admin listener on a seeded store (BASE_URL) and passes the numbers
// its API answers (EXPECT, JSON). This script checks that the page asks
// for the password and refuses a wrong one, that after logging in it
// shows those numbers and the goals, that clicking a country filters,
// that a comparison shows, that a card's CSV downloads, that the
// campaigns page shows the campaign's report, that a phone-sized screen
// needs no sideways scrolling, and that a share link opens its site
// without a login. Screenshots go to SCREENSHOTS.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { mkdirSync } from 'node:fs'
import path from 'node:path'

// playwright-core comes from the tracker's pinned modules (make tracker-deps).
const require = createRequire(new URL('../../tracker-js/package.json', import.meta.url))
const { chromium } = require('playwright-core')

const BASE = process.env.BASE_URL
const EXPECT = JSON.parse(process.env.EXPECT || '{}')
const SHOTS = process.env.SCREENSHOTS
assert.ok(BASE && SHOTS && EXPECT.site, 'BASE_URL, EXPECT and SCREENSHOTS must be set (run through go test ./dashboards)')
mkdirSync(SHOTS, { recursive: true })

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking'],
})
const problems = []
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true })

// open logs in (unless given a share link's query) and opens the
// dashboard with query.
async function open (viewport, query, { share = false, timezoneId } = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, timezoneId })
  const page = await context.newPage()
  page.on('pageerror', (e) => problems.push('page error: ' + e.message))
  page.on('response', (r) => { if (r.status() >= 400) problems.push(r.status() + ' ' + r.url()) })
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push('console: ' + m.text()) })
  if (!share) {
    await page.goto(BASE + '/login')
    await page.fill('#password', EXPECT.password)
    await Promise.all([page.waitForURL(BASE + '/'), page.click('button[type=submit]')])
  }
  await page.goto(BASE + '/?' + new URLSearchParams(query))
  await page.waitForSelector('[data-metric="visitors"] .value')
  await page.waitForSelector('[data-card="country"] tbody tr')
  return { context, page }
}

const card = (page, metric) => page.textContent(`[data-metric="${metric}"] .value`)

try {
  // Without a session the page asks for the password; a wrong one is refused.
  {
    const context = await browser.newContext()
    const page = await context.newPage()
    page.on('pageerror', (e) => problems.push('page error: ' + e.message))
    let refused = 0 // the dashboard's first API call, then the wrong password
    page.on('response', (r) => { if (r.status() === 401) refused++ })
    await page.goto(BASE + '/?site=' + EXPECT.site)
    await page.waitForSelector('form.login #password')
    await page.fill('#password', 'not the password')
    await page.click('button[type=submit]')
    await page.waitForSelector('#login-error')
    assert.equal(await page.textContent('#login-error'), 'Wrong password.')
    assert.equal(refused, 2, 'the API and the wrong password answered 401')
    await shot(page, 'login-refused')
    await context.close()
  }

  // Desktop: the numbers the API gave.
  // The browser is in New York; the site's day is Tokyo's.
  let { context, page } = await open({ width: 1280, height: 900 }, { site: EXPECT.site, period: 'day' }, { timezoneId: 'America/New_York' })
  assert.equal(await card(page, 'visitors'), EXPECT.visitors)
  assert.equal(await card(page, 'pageviews'), EXPECT.pageviews)
  assert.equal(await card(page, 'bounce_rate'), EXPECT.bounce_rate)
  assert.equal(await page.inputValue('#site'), EXPECT.site)
  const pages = await page.$$eval('[data-card="page"] tbody tr td:first-child', (tds) => tds.map((t) => t.textContent))
  assert.deepEqual(pages, EXPECT.pages)
  assert.equal(await page.textContent('#suppressed-total'), EXPECT.suppressed)
  assert.equal(await page.textContent('#realtime-count'), EXPECT.realtime)
  assert.ok(await page.$('#chart canvas'), 'the chart draws')
  // The chart's hours are the site's: its first bucket starts at Tokyo
  // midnight, and hovering bucket 10 labels it 10:00am.
  assert.equal(await page.getAttribute('#chart', 'data-zone'), EXPECT.timezone)
  assert.equal(await page.evaluate(() => plot.data[0][0]), EXPECT.day_start)
  const label = await page.evaluate(() => {
    plot.setCursor({ left: plot.valToPos(plot.data[0][10], 'x'), top: 10 })
    return document.querySelector('#chart .u-legend .u-series:first-child .u-value').textContent
  })
  assert.match(label, /10:00\s?am/i, 'bucket 10 is labelled in the site zone: ' + label)
  assert.equal(await page.textContent('[data-goal="Signup"] .rate'), EXPECT.signup_rate)
  await shot(page, 'desktop')

  // The campaigns page.
  await page.click('#tab-campaigns')
  await page.waitForSelector('[data-campaign="launch"]')
  assert.ok(await page.isHidden('#web'), 'web stats hidden on the campaigns page')
  assert.equal(await page.textContent('[data-campaign="launch"] .opens'), EXPECT.campaign_opens)
  assert.equal(await page.textContent('[data-campaign="launch"] .open-rate'), EXPECT.campaign_open_rate)
  assert.match(page.url(), /view=campaigns/)
  await shot(page, 'campaigns')
  await page.click('#tab-web')
  await page.waitForSelector('#web:not([hidden]) [data-metric="visitors"] .value')

  // Click-to-filter: the country card's DE row.
  await page.click('[data-card="country"] tbody tr:has-text("DE")')
  await page.waitForFunction((want) => document.querySelector('[data-metric="visitors"] .value')?.textContent === want, EXPECT.visitors_de)
  assert.match(page.url(), /filters=country%3D%3DDE/)
  assert.equal(await page.textContent('#filters button'), 'country is DE ✕')
  await shot(page, 'filtered')
  // Removing the filter restores the numbers.
  await page.click('#filters button')
  await page.waitForFunction((want) => document.querySelector('[data-metric="visitors"] .value')?.textContent === want, EXPECT.visitors)

  // Compare with the previous period.
  await page.selectOption('#compare', 'previous_period')
  await page.waitForSelector('[data-metric="visitors"] .change')
  assert.equal(await page.textContent('[data-metric="visitors"] .change'), EXPECT.visitors_change)
  await shot(page, 'compared')

  // A card's CSV.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('[data-card="country"] a.csv'),
  ])
  const csvPath = path.join(SHOTS, 'countries.csv')
  await download.saveAs(csvPath)
  const { readFileSync } = await import('node:fs')
  assert.equal(readFileSync(csvPath, 'utf8'), EXPECT.countries_csv)
  await context.close()

  // Phone: everything fits the width.
  ;({ context, page } = await open({ width: 390, height: 844 }, { site: EXPECT.site, period: 'day' }))
  assert.equal(await card(page, 'visitors'), EXPECT.visitors)
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  assert.ok(overflow <= 0, `phone layout scrolls sideways by ${overflow}px`)
  await shot(page, 'phone')
  await context.close()

  // A share link opens its site's dashboard without logging in, read-only.
  ;({ context, page } = await open({ width: 1280, height: 900 }, { ...Object.fromEntries(new URLSearchParams(EXPECT.share_path.slice(2))), period: 'day' }, { share: true }))
  assert.equal(await card(page, 'visitors'), EXPECT.visitors)
  assert.ok(await page.isDisabled('#site'), 'a share link cannot switch sites')
  assert.ok(await page.isHidden('#logout'), 'no logout for a share link')
  assert.equal(await page.$$eval('#site option', (os) => os.length), 1)
  await shot(page, 'shared')
  await context.close()

  assert.deepEqual(problems, [], 'no page errors')
  console.log('dashboard browser checks passed; screenshots in ' + SHOTS)
} finally {
  await browser.close()
}
