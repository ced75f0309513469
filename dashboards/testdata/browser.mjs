// The dashboard in Debian's Chromium, run by browser_test.go (BASE_URL:
// an admin listener with a password on the seeded store; EXPECT: the
// password, an API key, the site, a share link). The script reads the
// stats API itself and checks that the page shows exactly its numbers in
// the page's units, formatted here by code of its own (so a unit, a
// rounding or a column broken in the page fails): every metric card and
// its change, every cell of the breakdown tabs it opens, the details
// view, the map, the goals, every period (custom range included, picked
// with the keyboard), the chart's metric, filtering by clicking rows (a
// "(none)" row too) and removing the chip, region names (rows, chips, a
// search by name, the fallback for a code without one), a goal filter, a failed card
// showing its error on itself, the campaigns report's sections, the empty
// state turning live after a hit (HIT_URL stores one), dark mode, a
// 360 px screen, a share link, and (SAMPLED_URL: the same server, but
// sampling filtered cards) a sampled view's notice and its exact numbers.
// Screenshots go to SCREENSHOTS.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { mkdirSync } from 'node:fs'
import path from 'node:path'

const require = createRequire(new URL('../../tracker-js/package.json', import.meta.url))
const { chromium } = require('playwright-core')

const BASE = process.env.BASE_URL
const SAMPLED = process.env.SAMPLED_URL
const E = JSON.parse(process.env.EXPECT || '{}')
const SHOTS = process.env.SCREENSHOTS
assert.ok(BASE && SAMPLED && SHOTS && E.site, 'BASE_URL, SAMPLED_URL, EXPECT and SCREENSHOTS must be set (run through go test ./dashboards)')
mkdirSync(SHOTS, { recursive: true })

// The units, written again here: 1.2k, 28.2 %, 4m 07s.
const count = (n) => n < 1000 ? String(n) : n < 999950 ? (n / 1e3 < 100 ? String(Math.round(n / 100) / 10) : String(Math.round(n / 1e3))) + 'k' : String(Math.round(n / 1e5) / 10) + 'M'
const pct = (v) => String(Math.round(v * 10) / 10) + ' %'
const dur = (s) => { s = Math.round(s); return s < 60 ? s + 's' : s < 3600 ? Math.floor(s / 60) + 'm ' + String(s % 60).padStart(2, '0') + 's' : Math.floor(s / 3600) + 'h ' + String(Math.floor(s / 60) % 60).padStart(2, '0') + 'm' }
const UNITS = {
  visitors: count, visits: count, pageviews: count, events: count, views_per_visit: (v) => String(Math.round(v * 100) / 100),
  bounce_rate: pct, conversion_rate: pct, visit_duration: dur, time_on_page: dur, scroll_depth: (v) => Math.round(v) + ' %',
}
const CHANGE = (m, c) => c === null ? '—' : c === 0 ? '0 %' : (c > 0 ? '▲ ' : '▼ ') + (Math.abs(c) >= 100 ? Math.round(Math.abs(c)).toLocaleString('en') : String(Math.abs(c))) + (m === 'bounce_rate' || m === 'conversion_rate' ? ' pts' : ' %')
const ORDER = ['visitors', 'visits', 'pageviews', 'events', 'conversion_rate', 'bounce_rate', 'visit_duration', 'time_on_page', 'scroll_depth']

async function API (p, params, base = BASE) {
  const r = await fetch(base + p + '?' + new URLSearchParams(params), { headers: { Authorization: 'Bearer ' + E.api_key } })
  const text = await r.text()
  assert.equal(r.status, 200, p + ' ' + text)
  return p.includes('format') || params.format === 'csv' ? text : JSON.parse(text)
}
const agg = (params) => API('/api/v1/stats/aggregate', { site: E.site, ...params })

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking'] })
const problems = []
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true })
const allowed = [] // responses a step fails on purpose
const requested = [] // the paths every page asked for

async function open (query, { viewport = { width: 1280, height: 900 }, share = false, colorScheme = 'light', timezoneId, base = BASE } = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, colorScheme, timezoneId })
  const page = await context.newPage()
  page.setDefaultTimeout(10000)
  page.on('pageerror', (e) => problems.push('page error: ' + e.message))
  page.on('request', (r) => requested.push(new URL(r.url()).pathname))
  page.on('response', (r) => { if (r.status() >= 400 && !allowed.some((a) => r.url().includes(a))) problems.push(r.status() + ' ' + r.url()) })
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push('console: ' + m.text()) })
  if (!share) {
    await page.goto(base + '/login')
    await page.fill('#password', E.password)
    await Promise.all([page.waitForURL(base + '/'), page.click('button[type=submit]')])
  }
  await page.goto(base + '/?' + new URLSearchParams(query))
  return { context, page }
}
// settled waits until the page has filled every card of its state.
const settled = (page) => page.waitForFunction(() => document.body.dataset.loaded === location.search)
const text = (page, sel) => page.textContent(sel)
const waitText = (page, sel, want) => page.waitForFunction(([s, w]) => document.querySelector(s)?.textContent === w, [sel, want])
  .catch(async () => assert.fail(`${sel}: want ${JSON.stringify(want)}, shows ${JSON.stringify(await page.textContent(sel).catch(() => null))}`))

// checkCards: every card's value and change are the API's, in units.
async function checkCards (page, params, metrics, base = BASE) {
  const a = await API('/api/v1/stats/aggregate', { site: E.site, ...params }, base)
  await settled(page)
  await waitText(page, '[data-metric="visitors"] .value', UNITS.visitors(a.results.visitors.value))
  const shown = await page.$$eval('#cards .card', (cs) => cs.map((c) => c.dataset.metric))
  assert.deepEqual(shown, metrics, 'cards')
  for (const m of metrics) {
    assert.equal(await text(page, `[data-metric="${m}"] .value`), UNITS[m](a.results[m].value), m)
    if (params.compare) assert.equal(await text(page, `[data-metric="${m}"] .change`), CHANGE(m, a.results[m].change), m + ' change')
  }
  return a
}
const WEB = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate', 'visit_duration', 'events', 'time_on_page', 'scroll_depth']

// checkTable: the rows and every cell of a breakdown table are the API's.
async function checkTable (page, sel, rows, cols) {
  const shown = await page.$$eval(sel + ' tbody tr', (trs) => trs.map((tr) => [tr.dataset.value, ...[...tr.querySelectorAll('td.num')].map((td) => td.dataset.col + '=' + td.textContent)]))
  const want = rows.map((r) => [r.value, ...cols.map((c) => c + '=' + UNITS[c](r[c]))])
  assert.deepEqual(shown, want, sel)
}
async function showTab (page, group, dim) {
  await page.click(`[data-group="${group}"] [data-tab="${dim}"]`)
  await page.waitForSelector(`[data-group="${group}"] .tab-body[data-card="${dim}"]:not([aria-busy]) ${dim === 'map' ? 'svg' : 'table'}`)
}
async function checkTab (page, group, dim, params = {}) {
  await showTab(page, group, dim)
  const rows = (await API('/api/v1/stats/breakdown', { site: E.site, period: 'day', property: dim, limit: 9, ...params })).results
  const cols = ORDER.filter((c) => rows[0] && c in rows[0]).slice(0, 2)
  await checkTable(page, `[data-group="${group}"] .tab-body`, rows, cols)
  return rows
}

try {
  // Without a session the page asks for the password; a wrong one is refused.
  {
    allowed.push('/login', '/api/v1/sites', '/api/v1/session')
    const { context, page } = await open({ site: E.site }, { share: true })
    await page.waitForSelector('form.login #password')
    await page.fill('#password', 'not the password')
    await page.click('button[type=submit]')
    await page.waitForSelector('#login-error')
    assert.equal(await text(page, '#login-error'), 'Wrong password.')
    allowed.length = 0
    await context.close()
  }

  // Desktop, day D with a comparison: cards, chart, every visible tab.
  // The browser is in New York; the site's day is Tokyo's.
  let { context, page } = await open({ site: E.site, period: 'day', compare: 'previous_period' }, { timezoneId: 'America/New_York' })
  await checkCards(page, { period: 'day', compare: 'previous_period' }, WEB)
  assert.ok(await page.isVisible('#logout'), 'a password is set: Log out shows')
  await page.waitForSelector('#chart[data-zone] canvas')
  assert.equal(await page.getAttribute('#chart', 'data-zone'), E.timezone)
  const first = await page.evaluate(() => window.mote.plot.data[0][0])
  assert.equal(first, E.day_start, 'the chart starts at the site\'s midnight')
  // Hovering bucket 10 says 10:00 AM in the site's zone, with the API's value.
  const ts = await API('/api/v1/stats/timeseries', { site: E.site, period: 'day', compare: 'previous_period', metrics: 'visitors' })
  const tip = await page.evaluate(() => { const u = window.mote.plot; u.setCursor({ left: u.valToPos(u.data[0][10], 'x'), top: 10 }); return document.querySelector('#chart-tip').textContent })
  assert.match(tip, new RegExp('10:00\\sAM: ' + UNITS.visitors(ts.results[10].visitors) + ' unique visitors \\(was ' + UNITS.visitors(ts.comparison[10].visitors)), tip)
  assert.ok(!requested.includes('/ui/regions.json'), 'the region names are fetched only when a region shows')
  await checkTab(page, 'sources', 'source')
  await checkTab(page, 'pages', 'page')
  await checkTab(page, 'devices', 'browser')
  for (const [g, dims] of [['sources', ['channel', 'utm_campaign']], ['pages', ['entry_page', 'exit_page']], ['locations', ['country', 'region', 'city']], ['devices', ['os', 'screen', 'device']]]) {
    for (const d of dims) await checkTab(page, g, d)
  }
  // Countries read as names with flags.
  await checkTab(page, 'locations', 'country')
  assert.equal(await text(page, '[data-group="locations"] tr[data-value="DE"] .row-filter'), '🇩🇪 Germany')
  // Regions too: the ISO 3166-2 code's English name from the GeoLite2
  // City the collector uses (ui/regions.json), then the country.
  await checkTab(page, 'locations', 'region')
  assert.ok(requested.includes('/ui/regions.json'), 'the Regions tab fetched the names')
  assert.equal(await text(page, '[data-group="locations"] tr[data-value="DE-BE"] .row-filter'), '🇩🇪 Land Berlin, Germany')
  // A US state, and a code the table lacks, which keeps the code's label.
  await page.route(/property=region/, (r) => r.fulfill({ contentType: 'application/json', body: JSON.stringify({ results: [{ value: 'US-CA', visitors: 3, visits: 3 }, { value: 'US-QQ', visitors: 2, visits: 2 }, { value: '(other)', visitors: 2, visits: 2 }] }) }))
  await showTab(page, 'locations', 'city')
  await showTab(page, 'locations', 'region')
  assert.deepEqual(await page.$$eval('[data-group="locations"] .tab-body tbody td.label', (tds) => tds.map((td) => td.textContent)),
    ['🇺🇸 California, United States', '🇺🇸 QQ, United States', '(other)'])
  await page.unroute(/property=region/)
  await checkTab(page, 'locations', 'region')
  // The goals tab: uniques, conversions, rate.
  const goals = (await API('/api/v1/stats/goals', { site: E.site, period: 'day' })).results
  await page.click('[data-group="goals"] [data-tab="goals"]')
  await page.waitForSelector('[data-group="goals"] .tab-body[data-card="goals"] tbody tr[data-goal]')
  assert.deepEqual(await page.$$eval('[data-group="goals"] tbody tr', (trs) => trs.map((tr) => [tr.dataset.goal, ...[...tr.querySelectorAll('td.num')].map((td) => td.textContent)])),
    goals.map((g) => [g.goal, UNITS.visitors(g.visitors), UNITS.events(g.conversions), UNITS.conversion_rate(g.conversion_rate)]))
  // The map: a country with visitors is coloured and named.
  await page.click('[data-group="locations"] [data-tab="map"]')
  await page.waitForSelector('svg.map path[data-country="DE"].has')
  const countries = (await API('/api/v1/stats/breakdown', { site: E.site, period: 'day', property: 'country', limit: 300 })).results
  const de = countries.find((r) => r.value === 'DE')
  assert.equal(await page.textContent('svg.map path[data-country="DE"] title'), `Germany: ${de.visitors} visitors`)
  assert.equal(await page.$$eval('svg.map path.has', (ps) => ps.length), countries.filter((r) => r.value.length === 2).length)
  assert.ok(!(await page.$('svg.map path[data-country="BR"].has')), 'no visitors from Brazil')
  await shot(page, 'desktop')

  // Switching the chart's metric: the pageviews card charts pageviews.
  await page.click('[data-metric="pageviews"]')
  await page.waitForFunction(() => document.querySelector('#chart')?.dataset.metric === 'pageviews')
  const pv = await API('/api/v1/stats/timeseries', { site: E.site, period: 'day', metrics: 'pageviews' })
  assert.deepEqual(await page.evaluate(() => window.mote.plot.data[1]), pv.results.map((p) => p.pageviews))
  assert.equal(await text(page, '#chart-title'), 'Total pageviews')
  assert.equal(await page.getAttribute('[data-metric="pageviews"]', 'aria-pressed'), 'true')
  assert.match(page.url(), /metric=pageviews/)
  // Visit duration, charted in seconds and labelled in minutes.
  await page.click('[data-metric="visit_duration"]')
  await page.waitForFunction(() => document.querySelector('#chart')?.dataset.metric === 'visit_duration')
  const vd = await API('/api/v1/stats/timeseries', { site: E.site, period: 'day', metrics: 'visit_duration' })
  assert.deepEqual(await page.evaluate(() => window.mote.plot.data[1]), vd.results.map((p) => p.visit_duration))

  // Details of the pages: every metric, a search, its CSV.
  await page.click('[data-group="pages"] [data-tab="page"]')
  await page.click('[data-group="pages"] .details')
  await page.waitForSelector('#details[open] .details-list table')
  const all = (await API('/api/v1/stats/breakdown', { site: E.site, period: 'day', compare: 'previous_period', property: 'page', limit: 100 })).results
  await checkTable(page, '#details .details-list', all, ORDER.filter((c) => c in all[0]))
  await page.fill('#details input[type=search]', 'pri')
  const found = (await API('/api/v1/stats/breakdown', { site: E.site, period: 'day', property: 'page', limit: 100, filters: 'page~pri' })).results
  await page.waitForFunction((n) => document.querySelectorAll('#details tbody tr').length === n, found.length)
  await checkTable(page, '#details .details-list', found, ORDER.filter((c) => c in found[0]))
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#details a.csv')])
  const csvPath = path.join(SHOTS, 'pages.csv')
  await download.saveAs(csvPath)
  const { readFileSync } = await import('node:fs')
  assert.equal(readFileSync(csvPath, 'utf8'), await API('/api/v1/stats/breakdown', { site: E.site, period: 'day', compare: 'previous_period', property: 'page', limit: 1000, format: 'csv', filters: 'page~pri' }))
  await page.keyboard.press('Escape')
  assert.ok(!(await page.$('#details[open]')), 'Escape closes the details')

  // Click-to-filter: the "(none)" source (direct traffic), then remove it.
  await page.click('[data-metric="visitors"]')
  await showTab(page, 'sources', 'source')
  await page.click('[data-group="sources"] tr[data-value=""] .row-filter')
  assert.equal(await text(page, '#filters .chip'), 'Source is (none)✕')
  assert.match(page.url(), /filters=source%3D%3D(&|$)/)
  await checkCards(page, { period: 'day', compare: 'previous_period', filters: 'source==' }, WEB)
  await checkTab(page, 'pages', 'page', { filters: 'source==' })
  await page.click('#filters .chip button')
  await checkCards(page, { period: 'day', compare: 'previous_period' }, WEB)
  assert.equal(await page.$$eval('#filters .chip', (c) => c.length), 0)
  // A country row filters by the country, a region row by the region.
  await showTab(page, 'locations', 'country')
  await page.click('[data-group="locations"] tr[data-value="DE"] .row-filter')
  assert.equal(await text(page, '#filters .chip'), 'Country is Germany✕')
  await checkCards(page, { period: 'day', compare: 'previous_period', filters: 'country==DE' }, WEB)
  await page.click('#filters .chip button')
  await showTab(page, 'locations', 'region')
  await page.click('[data-group="locations"] tr[data-value="DE-BE"] .row-filter')
  assert.equal(await text(page, '#filters .chip'), 'Region is Land Berlin, Germany✕')
  await checkCards(page, { period: 'day', compare: 'previous_period', filters: 'region==DE-BE' }, WEB)
  await page.click('#filters .chip button')
  // The regions' details: names, and a search by name ("berlin" is in no
  // code) whose rows and CSV are those of the region it names.
  await page.click('[data-group="locations"] .details')
  await page.waitForSelector('#details[open] .details-list[data-card="region"] table')
  const regions = (await API('/api/v1/stats/breakdown', { site: E.site, period: 'day', compare: 'previous_period', property: 'region', limit: 100 })).results
  await checkTable(page, '#details .details-list', regions, ORDER.filter((c) => c in regions[0]))
  assert.equal(await text(page, '#details tr[data-value="DE-BE"] .row-filter'), '🇩🇪 Land Berlin, Germany')
  await page.fill('#details input[type=search]', 'berlin')
  await page.waitForFunction(() => [...document.querySelectorAll('#details tbody tr')].map((tr) => tr.dataset.value).join() === 'DE-BE')
  await checkTable(page, '#details .details-list', regions.filter((r) => r.value === 'DE-BE'), ORDER.filter((c) => c in regions[0]))
  const [regionCSV] = await Promise.all([page.waitForEvent('download'), page.click('#details a.csv')])
  await regionCSV.saveAs(path.join(SHOTS, 'regions.csv'))
  assert.equal(readFileSync(path.join(SHOTS, 'regions.csv'), 'utf8'), await API('/api/v1/stats/breakdown', { site: E.site, period: 'day', compare: 'previous_period', property: 'region', limit: 1000, format: 'csv', filters: 'region==DE-BE' }))
  await page.keyboard.press('Escape')

  // A goal filter: the cards become what a goal means.
  await showTab(page, 'goals', 'goals')
  await page.click('[data-group="goals"] tr[data-goal="Signup"] .row-filter')
  assert.equal(await text(page, '#filters .chip'), 'Goal is Signup✕')
  await checkCards(page, { period: 'day', compare: 'previous_period', filters: 'event==Signup' }, ['visitors', 'events', 'conversion_rate'])
  assert.equal(await text(page, '[data-metric="visitors"] .label'), 'Unique conversions')
  assert.equal(await text(page, '[data-metric="events"] .label'), 'Total conversions')
  await page.click('#filters .chip button')
  await page.selectOption('#compare', '')

  // Every period, from the picker; the custom range with the keyboard.
  for (const period of ['yesterday', '7d', '30d', 'month', '6mo', '12mo', 'year', 'all', 'day']) {
    await page.selectOption('#period', period)
    await page.waitForFunction((p) => new URLSearchParams(location.search).get('period') === p, period)
    await checkCards(page, { period }, WEB)
  }
  await page.focus('#period')
  await page.keyboard.press('End') // the last option: Custom range…
  await page.waitForSelector('#custom-range:not([hidden])')
  assert.equal(await page.evaluate(() => document.activeElement.id), 'from', 'the range\'s first field has the focus')
  const from = new Date(Date.parse(E.today) - 86400e3).toISOString().slice(0, 10)
  await page.fill('#from', from)
  await page.fill('#to', E.today)
  await page.focus('#to')
  await page.keyboard.press('Enter')
  await page.waitForFunction(() => new URLSearchParams(location.search).get('period') === 'custom')
  assert.match(page.url(), new RegExp(`from=${from}&to=${E.today}`))
  await checkCards(page, { period: 'custom', from, to: E.today }, WEB)
  // Tabs answer the arrow keys.
  await page.focus('[data-group="pages"] [data-tab="page"]')
  await page.keyboard.press('ArrowRight')
  await page.waitForFunction(() => document.activeElement?.dataset.tab === 'entry_page')

  // A card whose query fails says so on itself; the others stand.
  allowed.push('property=os')
  await page.route(/property=os/, (r) => r.fulfill({ status: 500, contentType: 'application/json', body: '{"error":"stats query failed"}' }))
  await page.click('[data-group="devices"] [data-tab="os"]')
  await waitText(page, '[data-group="devices"] .card-error', 'Could not load: stats query failed')
  assert.ok(await page.isHidden('#error'), 'no page-wide error')
  await page.unroute(/property=os/)
  allowed.length = 0

  // The campaigns report: totals, per-day chart, clients, countries,
  // machine causes and links, each with its headers.
  const camp = (await API('/api/v1/stats/campaigns', { site: E.site })).results[0]
  await page.click('#tab-campaigns')
  await page.waitForSelector('[data-campaign="launch"]')
  assert.ok(await page.isHidden('#web'), 'web stats hidden on the campaigns page')
  assert.equal(await text(page, '[data-campaign="launch"] .opens'), `${camp.opens} (${camp.human_opens} / ${camp.machine_opens})`)
  assert.equal(await text(page, '[data-campaign="launch"] .open-rate'), pct(camp.open_rate * 100))
  assert.equal(await text(page, '[data-campaign="launch"] .cto'), pct(camp.click_to_open_rate * 100))
  assert.deepEqual(JSON.parse(await page.getAttribute('#campaign-days', 'data-days')), camp.days.map((d) => [d.opens - d.machine_opens, d.machine_opens, d.clicks]))
  assert.ok(await page.$('#campaign-days canvas'), 'the per-day chart draws')
  const rowsOf = (id) => page.$$eval(`#${id} tr`, (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)))
  assert.deepEqual(await rowsOf('campaign-clients'), [['Client (browser · system)', 'Human opens', 'Machine opens'], ...camp.clients.map((c) => [c.browser + ' · ' + c.os, count(c.opens), count(c.machine_opens)])])
  assert.deepEqual(await rowsOf('campaign-countries'), [['Country', 'Human opens'], ...camp.countries.map((c) => ['🇩🇪 Germany', count(c.opens)])])
  assert.deepEqual(await rowsOf('campaign-reasons'), [['Why a machine', 'Opens and clicks'], ['Apple Mail Privacy Protection (loads every image on delivery)', count(camp.machine_reasons[0].hits)]])
  assert.deepEqual(await rowsOf('campaign-links'), [['Link', 'Clicks', 'Unique clicks'], ...camp.top_links.map((l) => [l.url, count(l.clicks), count(l.unique_clicks)])])
  assert.match(page.url(), /view=campaigns/)
  await shot(page, 'campaigns')
  await context.close()

  // A region filter in the URL reads as the region's name, with no
  // region on the page but the chip.
  ;({ context, page } = await open({ site: E.site, period: 'day', filters: 'region==DE-BE|FR-IDF' }))
  await checkCards(page, { period: 'day', filters: 'region==DE-BE|FR-IDF' }, WEB)
  assert.equal(await text(page, '#filters .chip'), 'Region is Land Berlin, Germany or Île-de-France, France✕')
  assert.ok(await page.isHidden('#sampled'), 'no sample notice on exact numbers')
  await context.close()

  // SAMPLED_URL samples filtered cards of more than 4 stored rows: the
  // page says how thin the sample is, and "Exact numbers" reads them all.
  ;({ context, page } = await open({ site: E.site, period: 'day', filters: 'region==DE-BE|FR-IDF' }, { base: SAMPLED }))
  const sampledAgg = (params) => API('/api/v1/stats/aggregate', { site: E.site, ...params }, SAMPLED)
  const sampled = await sampledAgg({ period: 'day', filters: 'region==DE-BE|FR-IDF' })
  assert.ok(sampled.sample_one_in > 1, 'the filtered aggregate is sampled: ' + JSON.stringify(sampled))
  await waitText(page, '#sampled', `≈ Estimated from 1 in ${sampled.sample_one_in} visitors: filtered views of this many hits are sampled.Exact numbers`)
  await checkCards(page, { period: 'day', filters: 'region==DE-BE|FR-IDF' }, WEB, SAMPLED)
  await shot(page, 'sampled')
  await page.click('#sampled button')
  await settled(page)
  assert.match(page.url(), /exact=true/)
  assert.ok(await page.isHidden('#sampled'), 'no sample notice on exact numbers')
  const exact = await sampledAgg({ period: 'day', filters: 'region==DE-BE|FR-IDF', exact: 'true' })
  assert.equal(exact.sample_one_in, undefined)
  assert.equal(sampled.results.visitors.value, sampled.sample_one_in * exact.results.visitors.value, 'the fixture\'s small visitor ids all fall in the sample')
  await checkCards(page, { period: 'day', filters: 'region==DE-BE|FR-IDF', exact: 'true' }, WEB, SAMPLED)
  await context.close()

  // Dark mode follows the system setting.
  ;({ context, page } = await open({ site: E.site, period: 'day' }, { colorScheme: 'dark' }))
  await checkCards(page, { period: 'day' }, WEB)
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(17, 21, 34)')
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.card')).backgroundColor), 'rgb(26, 31, 46)')
  await page.waitForSelector('svg.map')
  await shot(page, 'dark')
  await context.close()

  // A 360 px phone: everything fits the width.
  ;({ context, page } = await open({ site: E.site, period: 'day' }, { viewport: { width: 360, height: 780 } }))
  await checkCards(page, { period: 'day' }, WEB)
  await page.waitForSelector('svg.map')
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  assert.ok(overflow <= 0, `the 360 px layout scrolls sideways by ${overflow}px`)
  await shot(page, 'mobile')
  await context.close()

  // A site without any hit: the install guide, live after the first hit.
  ;({ context, page } = await open({ site: 'fresh', period: 'day' }))
  await page.waitForSelector('#empty:not([hidden]) #snippet')
  const host = new URL(BASE).hostname
  assert.equal(await text(page, '#snippet'), `<script defer data-site="fresh" src="http://${host}:18080/m.js"></script>`)
  assert.ok(await page.isHidden('#web'), 'no empty cards under the guide')
  await shot(page, 'empty')
  const r = await fetch(process.env.HIT_URL, { method: 'POST' })
  assert.equal(r.status, 200, 'the first hit is stored')
  await page.waitForSelector('#web:not([hidden]) [data-metric="visitors"] .value', { timeout: 15000 })
  assert.ok(await page.isHidden('#empty'), 'the guide is gone')
  await waitText(page, '[data-metric="visitors"] .value', '1')
  await waitText(page, '[data-metric="pageviews"] .value', '1')
  await context.close()

  // A share link: its site, read-only, no Log out.
  ;({ context, page } = await open({ ...Object.fromEntries(new URLSearchParams(E.share_path.slice(2))), period: 'day' }, { share: true }))
  await checkCards(page, { period: 'day' }, WEB)
  assert.ok(await page.isDisabled('#site'), 'a share link cannot switch sites')
  assert.ok(await page.isHidden('#logout'), 'no logout for a share link')
  assert.equal(await page.$$eval('#site option', (os) => os.length), 1)
  await context.close()

  assert.deepEqual(problems, [], 'no page errors')
  console.log('dashboard browser checks passed; screenshots in ' + SHOTS)
} finally {
  await browser.close()
}
