// Screenshots of the dashboard for the README (make screenshots, through
// dashboards/screenshots.sh, which fills a demo store first):
//
//   node dashboards/testdata/screenshots.mjs ADMIN_URL SITE OUT_DIR
import { createRequire } from 'node:module'
import { mkdirSync } from 'node:fs'
import path from 'node:path'

const require = createRequire(new URL('../../tracker-js/package.json', import.meta.url))
const { chromium } = require('playwright-core')
const [base, site, out] = process.argv.slice(2)
mkdirSync(out, { recursive: true })
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] })
const views = [
  ['desktop', { width: 1280, height: 900 }, 'light', { period: '7d', compare: 'previous_period' }],
  ['mobile', { width: 360, height: 780 }, 'light', { period: '7d' }],
  ['dark', { width: 1280, height: 900 }, 'dark', { period: '30d' }],
  ['campaigns', { width: 1280, height: 900 }, 'light', { view: 'campaigns' }],
]
try {
  for (const [name, viewport, colorScheme, query] of views) {
    const context = await browser.newContext({ viewport, colorScheme })
    const page = await context.newPage()
    page.on('pageerror', (e) => { throw e })
    await page.goto(base + '/?' + new URLSearchParams({ site, ...query }))
    await page.waitForFunction(() => document.body.dataset.loaded === location.search, null, { timeout: 60000 })
    await page.screenshot({ path: path.join(out, name + '.png'), fullPage: true })
    console.log('wrote', path.join(out, name + '.png'))
    await context.close()
  }
} finally {
  await browser.close()
}
