// The dashboard in Debian's Chromium, run by browser_test.go, which serves
// the admin listener on a seeded store (BASE_URL) and passes the numbers
// its API answers (EXPECT, JSON). This script checks that the page shows
// those numbers, that clicking a country filters, that a comparison shows,
// that a card's CSV downloads, and that a phone-sized screen needs no
// sideways scrolling. Screenshots go to SCREENSHOTS.
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

async function open (viewport, query) {
  const context = await browser.newContext({ viewport, acceptDownloads: true })
  const page = await context.newPage()
  page.on('pageerror', (e) => problems.push('page error: ' + e.message))
  page.on('response', (r) => { if (r.status() >= 400) problems.push(r.status() + ' ' + r.url()) })
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push('console: ' + m.text()) })
  await page.goto(BASE + '/?' + new URLSearchParams(query))
  await page.waitForSelector('[data-metric="visitors"] .value')
  await page.waitForSelector('[data-card="country"] tbody tr')
  return { context, page }
}

const card = (page, metric) => page.textContent(`[data-metric="${metric}"] .value`)

try {
  // Desktop: the numbers the API gave.
  let { context, page } = await open({ width: 1280, height: 900 }, { site: EXPECT.site, period: 'day' })
  assert.equal(await card(page, 'visitors'), EXPECT.visitors)
  assert.equal(await card(page, 'pageviews'), EXPECT.pageviews)
  assert.equal(await card(page, 'bounce_rate'), EXPECT.bounce_rate)
  assert.equal(await page.inputValue('#site'), EXPECT.site)
  const pages = await page.$$eval('[data-card="page"] tbody tr td:first-child', (tds) => tds.map((t) => t.textContent))
  assert.deepEqual(pages, EXPECT.pages)
  assert.equal(await page.textContent('#suppressed-total'), EXPECT.suppressed)
  assert.equal(await page.textContent('#realtime-count'), EXPECT.realtime)
  assert.ok(await page.$('#chart canvas'), 'the chart draws')
  await shot(page, 'desktop')

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

  assert.deepEqual(problems, [], 'no page errors')
  console.log('dashboard browser checks passed; screenshots in ' + SHOTS)
} finally {
  await browser.close()
}
