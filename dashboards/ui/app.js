// Mote's dashboard: plain JavaScript over the stats API (see
// /api/v1/openapi.yaml). State lives in the URL (site, period, compare,
// filters, auth for share links), so that a view can be bookmarked and a
// reload shows the same numbers.
'use strict'

const $ = (id) => document.getElementById(id)
const state = new URLSearchParams(location.search)

const METRICS = [
  ['visitors', 'Visitors', (v) => fmtInt(v)],
  ['visits', 'Visits', (v) => fmtInt(v)],
  ['pageviews', 'Pageviews', (v) => fmtInt(v)],
  ['views_per_visit', 'Views / visit', (v) => v.toFixed(2)],
  ['bounce_rate', 'Bounce rate', (v) => v + '%'],
  ['visit_duration', 'Visit duration', (v) => fmtDuration(v)],
  ['events', 'Events', (v) => fmtInt(v)],
  ['time_on_page', 'Time on page', (v) => fmtDuration(v)],
  ['scroll_depth', 'Scroll depth', (v) => Math.round(v) + '%'],
]

// Breakdown cards: the dimension and its title.
const CARDS = [
  ['page', 'Pages'], ['entry_page', 'Entry pages'], ['exit_page', 'Exit pages'],
  ['source', 'Sources'], ['channel', 'Channels'], ['utm_campaign', 'UTM campaigns'],
  ['utm_source', 'UTM sources'], ['utm_medium', 'UTM mediums'],
  ['country', 'Countries'], ['region', 'Regions'], ['city', 'Cities'],
  ['browser', 'Browsers'], ['os', 'Operating systems'], ['device', 'Devices'],
  ['event', 'Goals and events'],
]

function fmtInt (v) { return Number(v).toLocaleString('en') }
function fmtDuration (s) {
  s = Math.round(s)
  return s < 60 ? s + 's' : Math.floor(s / 60) + 'm ' + (s % 60) + 's'
}

// api builds a stats API URL from the current state plus extra params.
function api (path, extra = {}) {
  const q = new URLSearchParams()
  for (const k of ['site', 'period', 'compare', 'auth']) if (state.get(k)) q.set(k, state.get(k))
  for (const f of state.getAll('filters')) q.append('filters', f)
  for (const [k, v] of Object.entries(extra)) q.set(k, v)
  return path + '?' + q.toString()
}

async function getJSON (url) {
  const r = await fetch(url, { credentials: 'same-origin' })
  if (r.status === 401) { showLogin(); throw new Error('login required') }
  const body = await r.json()
  if (!r.ok) throw new Error(body.error || r.statusText)
  return body
}

function pushState () {
  history.replaceState(null, '', '?' + state.toString())
  load()
}

function el (tag, attrs = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v)
    else e.setAttribute(k, v)
  }
  for (const c of children) e.append(c)
  return e
}

function showLogin () {
  document.body.replaceChildren(el('form', { class: 'login', method: 'post', action: '/login' },
    el('h1', {}, 'Mote'),
    el('label', { for: 'password' }, 'Admin password'),
    el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: '' }),
    el('button', { type: 'submit' }, 'Log in')))
}

async function init () {
  const { sites } = await getJSON(api('/api/v1/sites'))
  for (const s of sites) zones[s.id] = s.timezone
  const sel = $('site')
  for (const s of sites) sel.append(el('option', { value: s.id }, s.id))
  if (!state.get('site') && sites.length) state.set('site', sites[0].id)
  sel.value = state.get('site') || ''
  if (state.get('auth')) sel.disabled = true // a share link shows one site
  $('period').value = state.get('period') || '30d'
  $('compare').value = state.get('compare') || ''
  sel.onchange = () => { state.set('site', sel.value); state.delete('filters'); pushState() }
  $('period').onchange = () => { state.set('period', $('period').value); pushState() }
  $('compare').onchange = () => {
    if ($('compare').value) state.set('compare', $('compare').value); else state.delete('compare')
    pushState()
  }
  for (const tab of document.querySelectorAll('.tabs a')) {
    tab.onclick = (ev) => {
      ev.preventDefault()
      if (tab.dataset.view === 'web') state.delete('view'); else state.set('view', tab.dataset.view)
      pushState()
    }
  }
  $('logout').hidden = !!state.get('auth') // a share link has no session
  load()
  setInterval(realtime, 30000)
}

async function load () {
  $('error').hidden = true
  const view = state.get('view') === 'campaigns' ? 'campaigns' : 'web'
  $('web').hidden = view !== 'web'
  $('campaigns').hidden = view !== 'campaigns'
  for (const tab of document.querySelectorAll('.tabs a')) tab.classList.toggle('active', tab.dataset.view === view)
  try {
    if (view === 'campaigns') { await Promise.all([campaigns(), realtime()]); return }
    renderFilters()
    // The metric cards first, then the chart, then the breakdowns: the
    // embedded engine answers one query at a time, and asked everything at
    // once it filled the cards after a dozen breakdowns (3 s instead of
    // 0.7 s on 10M events, bench/BENCHMARKS.md). A server engine, which
    // answers in parallel, loses a query's latency per step.
    await Promise.all([cards(), realtime()])
    await Promise.all([chart(), goals(), privacy()])
    await breakdowns()
  } catch (e) {
    if (e.message !== 'login required') { $('error').textContent = e.message; $('error').hidden = false }
  }
}

function renderFilters () {
  const box = $('filters')
  box.replaceChildren()
  for (const f of state.getAll('filters')) {
    box.append(el('button', {
      type: 'button', title: 'Remove filter',
      onclick: () => {
        const rest = state.getAll('filters').filter((x) => x !== f)
        state.delete('filters'); for (const x of rest) state.append('filters', x)
        pushState()
      },
    }, f.replace('==', ' is ').replace('!=', ' is not ') + ' ✕'))
  }
}

async function cards () {
  const { results } = await getJSON(api('/api/v1/stats/aggregate'))
  const box = $('cards')
  box.replaceChildren()
  const list = METRICS.slice()
  if (results.conversion_rate) list.push(['conversion_rate', 'Conversion rate', (v) => v + '%'])
  for (const [key, label, fmt] of list) {
    const r = results[key]
    if (!r) continue
    const card = el('div', { class: 'card', 'data-metric': key },
      el('div', { class: 'label' }, label), el('div', { class: 'value' }, fmt(r.value)))
    if ('comparison_value' in r) {
      const ch = r.change
      const good = key === 'bounce_rate' ? ch < 0 : ch > 0
      const text = ch === null ? 'was ' + fmt(r.comparison_value)
        : (ch > 0 ? '+' : '') + ch + (key === 'bounce_rate' || key === 'conversion_rate' ? ' pts' : '%') + ' (was ' + fmt(r.comparison_value) + ')'
      card.append(el('div', { class: 'change ' + (ch === null || ch === 0 ? '' : good ? 'up' : 'down') }, text))
    }
    box.append(card)
  }
}

// zones are the sites' time zones: the chart's axis shows the site's
// hours and days, not the browser's.
const zones = {}
let plot
async function chart () {
  const body = await getJSON(api('/api/v1/stats/timeseries', { metrics: 'visitors' }))
  $('chart-csv').href = api('/api/v1/stats/timeseries', { format: 'csv' })
  // Hour buckets carry their offset (an instant, shown in the site's
  // zone); day, week and month buckets are dates, drawn as UTC midnights
  // and labelled in UTC so that the date is the site's date.
  const daily = body.results.length > 0 && body.results[0].date.length === 10
  const zone = daily ? 'UTC' : (zones[state.get('site')] || 'UTC')
  const xs = body.results.map((p) => Date.parse(daily ? p.date + 'T00:00:00Z' : p.date) / 1000)
  const data = [xs, body.results.map((p) => p.visitors)]
  const series = [{}, { label: 'Visitors', stroke: '#4f46e5', width: 2, fill: 'rgba(79,70,229,0.08)' }]
  if (body.comparison) {
    data.push(xs.map((_, i) => body.comparison[i] ? body.comparison[i].visitors : null))
    series.push({ label: 'Comparison', stroke: '#9ca3af', dash: [4, 4], width: 1.5 })
  }
  const box = $('chart')
  if (plot) plot.destroy()
  plot = new uPlot({
    width: box.clientWidth || 600, height: 240, series,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), zone),
    scales: { y: { range: (u, min, max) => [0, Math.max(1, max)] } },
  }, data, box)
  box.dataset.zone = zone
}

async function breakdowns () {
  const box = $('breakdowns')
  box.replaceChildren()
  await Promise.all(CARDS.map(async ([dim, title]) => {
    const panel = el('section', { class: 'panel', 'data-card': dim })
    box.append(panel)
    const body = await getJSON(api('/api/v1/stats/breakdown', { property: dim, limit: 10 }))
    const cols = body.results.length ? Object.keys(body.results[0]).filter((k) => k !== 'value') : ['visitors']
    const rows = el('tbody')
    for (const r of body.results) {
      const label = r.value === '' ? '(none)' : r.value
      const tr = el('tr', { class: 'row', title: 'Filter by ' + label },
        el('td', {}, label), ...cols.map((c) => el('td', { class: 'num' }, String(r[c]))))
      if (r.value !== '(other)') tr.addEventListener('click', () => { state.append('filters', dim + '==' + r.value); pushState() })
      rows.append(tr)
    }
    if (!body.results.length) rows.append(el('tr', {}, el('td', { class: 'note' }, 'No data')))
    panel.append(el('div', { class: 'panel-head' }, el('h2', {}, title),
      el('a', { class: 'csv', download: '', href: api('/api/v1/stats/breakdown', { property: dim, limit: 1000, format: 'csv' }) }, 'CSV')),
    el('table', {}, el('thead', {}, el('tr', {}, el('td', {}, ''), ...cols.map((c) => el('td', { class: 'num' }, c.replace(/_/g, ' '))))), rows))
  }))
}

async function goals () {
  const body = await getJSON(api('/api/v1/stats/goals'))
  $('goals-csv').href = api('/api/v1/stats/goals', { format: 'csv' })
  $('goals').hidden = body.results.length === 0 // no goals configured
  const rows = $('goal-rows')
  rows.replaceChildren()
  for (const g of body.results) {
    const tr = el('tr', { 'data-goal': g.goal, title: g.event ? 'event ' + g.event : 'page ' + g.page },
      el('td', {}, g.goal), el('td', { class: 'num' }, fmtInt(g.visitors)), el('td', { class: 'num' }, fmtInt(g.conversions)),
      el('td', { class: 'num rate' }, g.conversion_rate + '%'))
    if (g.event) {
      tr.classList.add('row')
      tr.addEventListener('click', () => { state.append('filters', 'event==' + g.event); pushState() })
    }
    rows.append(tr)
  }
}

function pct (f) { return Math.round(f * 1000) / 10 + '%' }

async function campaigns () {
  const body = await getJSON(api('/api/v1/stats/campaigns'))
  $('campaigns-csv').href = api('/api/v1/stats/campaigns', { format: 'csv' })
  const rows = $('campaign-rows')
  rows.replaceChildren()
  const links = $('campaign-links')
  links.replaceChildren()
  for (const c of body.results) {
    rows.append(el('tr', { 'data-campaign': c.campaign_id },
      el('td', {}, c.name || c.campaign_id),
      el('td', { class: 'num' }, fmtInt(c.sends)),
      el('td', { class: 'num opens' }, fmtInt(c.opens) + ' (' + fmtInt(c.human_opens) + ' / ' + fmtInt(c.machine_opens) + ')'),
      el('td', { class: 'num' }, fmtInt(c.unique_opens)),
      el('td', { class: 'num open-rate' }, pct(c.open_rate)),
      el('td', { class: 'num' }, pct(c.human_open_rate)),
      el('td', { class: 'num clicks' }, fmtInt(c.clicks) + ' (' + fmtInt(c.unique_clicks) + ' unique)'),
      el('td', { class: 'num' }, pct(c.click_to_open_rate))))
    if (c.top_links && c.top_links.length) {
      const t = el('tbody')
      for (const l of c.top_links) t.append(el('tr', {}, el('td', {}, l.url), el('td', { class: 'num' }, fmtInt(l.clicks))))
      links.append(el('h3', {}, 'Links of ' + (c.name || c.campaign_id)), el('table', {}, t))
    }
  }
  if (!body.results.length) rows.append(el('tr', {}, el('td', { class: 'note' }, 'No campaigns for this site')))
}

async function privacy () {
  const body = await getJSON(api('/api/v1/suppressed'))
  $('privacy-csv').href = api('/api/v1/suppressed', { format: 'csv' })
  const names = { dnt: 'Do-Not-Track', gpc: 'Global Privacy Control', no_consent: 'No consent', bot: 'Bots', prefetch: 'Prefetch', opt_out: 'Opted out', campaign: 'Closed campaigns' }
  const rows = $('privacy-rows')
  rows.replaceChildren(el('tr', {}, el('td', {}, 'Not stored'), el('td', { class: 'num', id: 'suppressed-total' },
    fmtInt(body.suppressed) + ' (' + body.suppressed_percent + '%)')))
  for (const r of body.reasons) rows.append(el('tr', {}, el('td', {}, names[r.reason] || r.reason), el('td', { class: 'num' }, fmtInt(r.count))))
  rows.append(el('tr', {}, el('td', {}, 'Stored'), el('td', { class: 'num' }, fmtInt(body.stored))))
}

async function realtime () {
  const q = new URLSearchParams({ site: state.get('site') || '' })
  if (state.get('auth')) q.set('auth', state.get('auth'))
  const body = await getJSON('/api/v1/stats/realtime?' + q)
  $('realtime-count').textContent = fmtInt(body.visitors)
}

init().catch((e) => { if (e.message !== 'login required') { $('error').textContent = e.message; $('error').hidden = false } })
