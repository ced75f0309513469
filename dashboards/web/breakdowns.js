// The breakdown cards, grouped as Plausible groups them (sources, pages,
// locations, devices, goals), one tab showing at a time: visitors first,
// a bar for each row's share of the top row, a click filters by the row
// (a "(none)" row by the empty value). "Details" opens the whole list,
// searchable, with its CSV.
import { state, $, el, api, getJSON, guard } from './api.js'
import { METRICS, exact } from './format.js'
import { addFilter, valueLabel, DIMENSIONS } from './filters.js'
import { flag, regionLabel, regionSearch, loadRegionNames, drawMap } from './geo.js'

const GROUPS = [
  { id: 'sources', tabs: [['source', 'Sources'], ['channel', 'Channels'], ['utm_campaign', 'Campaigns'], ['utm_medium', 'Mediums'], ['utm_source', 'UTM sources']] },
  { id: 'pages', tabs: [['page', 'Top pages'], ['entry_page', 'Entry pages'], ['exit_page', 'Exit pages']] },
  { id: 'locations', tabs: [['map', 'Map'], ['country', 'Countries'], ['region', 'Regions'], ['city', 'Cities']] },
  { id: 'devices', tabs: [['browser', 'Browsers'], ['os', 'Operating systems'], ['screen', 'Screen sizes'], ['device', 'Devices']] },
  { id: 'goals', tabs: [['goals', 'Goals'], ['event', 'Custom events']] },
]

// ORDER is the columns' order: visitors first, then what the row counts.
const ORDER = ['visitors', 'visits', 'pageviews', 'events', 'conversion_rate', 'bounce_rate', 'visit_duration', 'time_on_page', 'scroll_depth']
const columns = (row) => ORDER.filter((m) => row && m in row)

const chosen = {} // group id → the tab showing

// label is a row's text: flags and names for places ("🇺🇸 California,
// United States": region names need loadRegionNames first), "(none)" for
// empty.
function label (dim, value) {
  if (dim === 'country' && value.length === 2) return flag(value) + ' ' + valueLabel(dim, value)
  if (dim === 'region' && /^[A-Z]{2}-/.test(value)) return flag(value.slice(0, 2)) + ' ' + regionLabel(value)
  return valueLabel(dim, value)
}

// table renders rows of dim with cols; the bar is each row's visitors
// against the largest.
function table (dim, rows, cols) {
  const max = Math.max(1, ...rows.map((r) => r.visitors || 0))
  const head = el('tr', {}, el('th', { scope: 'col' }, DIMENSIONS[dim] || 'Goal'), ...cols.map((c) => el('th', { scope: 'col', class: 'num' }, METRICS[c].short)))
  const body = el('tbody')
  for (const r of rows) {
    const text = label(dim, r.value)
    const filterable = r.value !== '(other)'
    const name = filterable
      ? el('button', { type: 'button', class: 'row-filter', title: 'Filter by ' + text, onclick: () => addFilter(dim === 'goals' ? 'event' : dim, r.value) }, text)
      : el('span', { title: 'Rows under the k-anonymity threshold, grouped' }, text)
    body.append(el('tr', { 'data-value': r.value },
      el('td', { class: 'label' }, el('span', { class: 'bar', style: `width:${(100 * (r.visitors || 0) / max).toFixed(1)}%` }), name),
      ...cols.map((c) => el('td', { class: 'num', 'data-col': c, title: exact(r[c]) }, METRICS[c].fmt(r[c])))))
  }
  if (!rows.length) body.append(el('tr', {}, el('td', { class: 'note', colspan: cols.length + 1 }, 'No data for this period')))
  return el('table', {}, el('thead', {}, head), body)
}

// fetchRows reads a tab's rows (with search, a filter string, added to
// the page's); goals come from the goals API. Region rows wait for the
// region names, fetched meanwhile.
async function fetchRows (dim, limit, search) {
  if (dim === 'goals') {
    const body = await getJSON(api('/api/v1/stats/goals'))
    return body.results.map((g) => ({ value: g.event || g.goal, goal: g.goal, visitors: g.visitors, events: g.conversions, conversion_rate: g.conversion_rate, page: !g.event }))
  }
  const extra = { property: dim, limit }
  if (search) extra.filters = [search]
  const [body] = await Promise.all([getJSON(api('/api/v1/stats/breakdown', extra)), dim === 'region' && loadRegionNames()])
  return body.results
}

async function fillTab (group, panel, dim) {
  const body = panel.querySelector('.tab-body')
  body.dataset.card = dim
  body.setAttribute('aria-busy', 'true')
  if (dim === 'map') {
    const rows = (await getJSON(api('/api/v1/stats/breakdown', { property: 'country', limit: 300 }))).results
    await drawMap(body, rows.filter((r) => r.value.length === 2), (code) => addFilter('country', code))
  } else {
    const rows = await fetchRows(dim, 9)
    const cols = columns(rows[0]).slice(0, dim === 'goals' || dim === 'event' ? 3 : 2)
    body.replaceChildren(table(dim, rows, cols.length ? cols : ['visitors']))
    if (dim === 'goals') {
      for (const [i, r] of rows.entries()) {
        const tr = body.querySelectorAll('tbody tr')[i]
        tr.dataset.goal = r.goal
        if (r.page) tr.querySelector('button').replaceWith(el('span', { title: 'A page goal' }, r.goal))
      }
    }
  }
  body.removeAttribute('aria-busy')
  panel.querySelector('.details').hidden = dim === 'map' || dim === 'goals'
}

export async function breakdowns (goalsConfigured) {
  // The panels are built and placed at once, then filled: a newer load
  // replaces them whole, so a slower older one fills detached panels.
  const fills = []
  $('breakdowns').replaceChildren(...GROUPS.map((g) => {
    const tabs = g.id === 'goals' && !goalsConfigured ? g.tabs.slice(1) : g.tabs
    if (!tabs.some(([d]) => d === chosen[g.id])) chosen[g.id] = tabs[0][0]
    const panel = el('section', { class: 'panel group', 'data-group': g.id })
    const bar = el('div', { class: 'tabs', role: 'tablist', 'aria-label': g.id })
    const show = async (dim) => {
      chosen[g.id] = dim
      for (const b of bar.children) { const on = b.dataset.tab === dim; b.setAttribute('aria-selected', String(on)); b.tabIndex = on ? 0 : -1 }
      await guard(panel, () => fillTab(g, panel, dim))
    }
    for (const [dim, title] of tabs) {
      bar.append(el('button', {
        type: 'button', role: 'tab', 'data-tab': dim, onclick: () => show(dim),
        onkeydown: (ev) => { // arrow keys move between tabs, as WAI-ARIA tabs do
          const i = tabs.findIndex(([d]) => d === dim)
          const j = ev.key === 'ArrowRight' ? i + 1 : ev.key === 'ArrowLeft' ? i - 1 : -2
          if (j === -2) return
          const next = tabs[(j + tabs.length) % tabs.length][0]
          show(next).then(() => bar.querySelector(`[data-tab="${next}"]`).focus())
        },
      }, title))
    }
    panel.append(el('div', { class: 'panel-head' }, bar,
      el('button', { type: 'button', class: 'details link', onclick: () => details(chosen[g.id]) }, 'Details')),
    el('div', { class: 'tab-body', role: 'tabpanel' }))
    fills.push(() => show(chosen[g.id]))
    return panel
  }))
  await Promise.all(fills.map((f) => f()))
}

// details opens the whole breakdown of dim in a dialog: every metric,
// a search (the API's "contains" filter), the CSV of what is shown.
// Regions are searched by name too: the dialog first reads up to 1,000
// region rows (showing 100) and searches the names of those codes.
export function details (dim) {
  const dialog = $('details')
  const search = el('input', { type: 'search', placeholder: 'Search', 'aria-label': 'Search ' + (DIMENSIONS[dim] || dim) })
  const csv = el('a', { class: 'csv', download: true }, 'CSV')
  const list = el('div', { class: 'details-list', 'data-card': dim })
  let timer
  let codes = null // the region codes of the period, for a search by name
  const fill = async () => {
    const q = search.value.trim()
    const filter = !q ? null : dim === 'region' ? regionSearch(q, codes || []) : dim + '~' + q
    const extra = { property: dim, limit: 1000, format: 'csv' }
    if (filter) extra.filters = [filter]
    csv.href = api('/api/v1/stats/breakdown', extra)
    await guard(list, async () => {
      const whole = dim === 'region' && !codes && !q
      let rows = await fetchRows(dim, whole ? 1000 : 100, filter)
      if (whole) { codes = rows.map((r) => r.value); rows = rows.slice(0, 100) }
      list.replaceChildren(table(dim, rows, columns(rows[0]).length ? columns(rows[0]) : ['visitors']))
    })
  }
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(fill, 250) })
  dialog.replaceChildren(el('div', { class: 'panel-head' }, el('h2', {}, DIMENSIONS[dim] || dim), csv,
    el('button', { type: 'button', class: 'close', 'aria-label': 'Close', onclick: () => dialog.close() }, '✕')), search, list)
  dialog.showModal()
  search.focus()
  return fill()
}

export { state }
