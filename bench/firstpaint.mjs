// How fast the dashboard shows a large data set, in Debian's Chromium:
// first contentful paint, the metric cards filled, the chart drawn and every
// breakdown card filled, from navigation start, for a cold and a warm load.
//
//   node bench/firstpaint.mjs http://127.0.0.1:8081 SITE [PERIOD] [RUNS]
//
// The admin listener must let the browser in without a password (a
// loopback listener without admin.password_hash does). playwright-core comes
// from the tracker's pinned modules (make tracker-deps).
import { createRequire } from 'node:module'

const require = createRequire(new URL('../tracker-js/package.json', import.meta.url))
const { chromium } = require('playwright-core')

const [base, site, period = '30d', runs = '3'] = process.argv.slice(2)
if (!base || !site) {
  console.error('usage: node bench/firstpaint.mjs ADMIN_URL SITE [PERIOD] [RUNS]')
  process.exit(2)
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking'],
})
try {
  console.log('| load | first contentful paint | metric cards | chart | all cards |')
  console.log('| --- | ---: | ---: | ---: | ---: |')
  for (let i = 0; i < Number(runs); i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const errors = []
    page.on('response', (r) => { if (r.status() >= 400) errors.push(r.status() + ' ' + r.url()) })
    await page.goto(base + '/?' + new URLSearchParams({ site, period }))
    // Each mark is when its part first appeared, from the page's own clock.
    const marks = await page.evaluate(() => new Promise((resolve) => {
      const t = {}
      const check = () => {
        const now = performance.now()
        if (!t.cards && document.querySelector('[data-metric="visitors"] .value')) t.cards = now
        if (!t.chart && document.querySelector('#chart canvas')) t.chart = now
        // The page marks its state loaded once every card is filled.
        if (!t.all && document.body.dataset.loaded === location.search) t.all = now
        if (t.cards && t.chart && t.all) {
          const fcp = performance.getEntriesByName('first-contentful-paint')[0]
          resolve({ fcp: fcp ? fcp.startTime : NaN, ...t })
        } else {
          requestAnimationFrame(check)
        }
      }
      check()
    }))
    if (errors.length) throw new Error('failed requests: ' + errors.join(', '))
    const ms = (v) => Math.round(v) + ' ms'
    console.log(`| ${i === 0 ? 'cold' : 'warm'} | ${ms(marks.fcp)} | ${ms(marks.cards)} | ${ms(marks.chart)} | ${ms(marks.all)} |`)
    await context.close()
  }
} finally {
  await browser.close()
}
