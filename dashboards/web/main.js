// Mote's dashboard: plain JavaScript over the stats API (see
// /api/v1/openapi.yaml), bundled by web/build.mjs into ui/app.js. State
// lives in the URL (site, period, dates, compare, filters, chart metric,
// view, the share key), so a view can be bookmarked and a reload shows
// the same numbers.
import { state, $, el, api, getJSON, update, onStateChange, LoginRequired, guard, clearSample } from './api.js'
import { abbrev } from './format.js'
import { renderFilters } from './filters.js'
import { cards, chart, zones } from './metrics.js'
import { breakdowns } from './breakdowns.js'
import { campaigns } from './campaigns.js'
import { privacy } from './privacy.js'
import { neverSeen, showEmpty, hideEmpty, setSession } from './onboarding.js'

function showLogin () {
  document.body.replaceChildren(el('form', { class: 'login', method: 'post', action: '/login' },
    el('h1', {}, 'Mote'),
    el('label', { for: 'password' }, 'Admin password'),
    el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: '' }),
    el('button', { type: 'submit' }, 'Log in')))
}

const today = () => new Date().toLocaleDateString('en-CA', { timeZone: zones[state.get('site')] || 'UTC' })

// The period picker: a native select (keyboard and screen reader ready);
// "Custom range" shows two date fields and Apply.
function periodPicker () {
  const sel = $('period')
  const custom = $('custom-range')
  const sync = () => {
    sel.value = state.get('period') || '30d'
    custom.hidden = sel.value !== 'custom'
    $('from').value = state.get('from') || ''
    $('to').value = state.get('to') || ''
  }
  sel.onchange = () => {
    if (sel.value === 'custom') {
      custom.hidden = false
      if (!$('to').value) $('to').value = today()
      if (!$('from').value) { const d = new Date($('to').value); d.setUTCDate(d.getUTCDate() - 6); $('from').value = d.toISOString().slice(0, 10) }
      $('from').focus()
      return
    }
    update((s) => { s.set('period', sel.value); s.delete('from'); s.delete('to') })
  }
  custom.onsubmit = (ev) => {
    ev.preventDefault()
    let [from, to] = [$('from').value, $('to').value]
    if (!from || !to) return
    if (from > to) [from, to] = [to, from]
    update((s) => { s.set('period', 'custom'); s.set('from', from); s.set('to', to) })
  }
  sync()
  return sync
}

async function init () {
  const [{ sites }, session] = await Promise.all([getJSON(api('/api/v1/sites', {}, { filters: false })), getJSON(api('/api/v1/session', {}, { filters: false }))])
  setSession(session)
  $('logout').hidden = !session.logout
  for (const s of sites) zones[s.id] = s.timezone
  const sel = $('site')
  for (const s of sites) sel.append(el('option', { value: s.id }, s.id))
  if (!state.get('site') && sites.length) state.set('site', sites[0].id)
  sel.value = state.get('site') || ''
  if (session.share) sel.disabled = true // a share link shows one site
  sel.onchange = () => update((s) => { s.set('site', sel.value); s.delete('filters'); s.delete('campaign') })
  const syncPeriod = periodPicker()
  $('compare').value = state.get('compare') || ''
  $('compare').onchange = () => update((s) => { if ($('compare').value) s.set('compare', $('compare').value); else s.delete('compare') })
  for (const tab of document.querySelectorAll('#views a')) {
    tab.onclick = (ev) => { ev.preventDefault(); update((s) => { if (tab.dataset.view === 'web') s.delete('view'); else s.set('view', tab.dataset.view) }) }
  }
  onStateChange(() => { syncPeriod(); load() })
  await load()
  setInterval(realtime, 30000)
}

let goalsConfigured = null
let loading = 0

async function load () {
  const run = ++loading
  delete document.body.dataset.loaded
  if ($('details').open) $('details').close()
  const view = state.get('view') === 'campaigns' ? 'campaigns' : 'web'
  $('web').hidden = view !== 'web'
  $('campaigns').hidden = view !== 'campaigns'
  $('filter-bar').hidden = view !== 'web'
  for (const tab of document.querySelectorAll('#views a')) tab.setAttribute('aria-current', tab.dataset.view === view ? 'page' : 'false')
  hideEmpty()
  clearSample()
  if (view === 'campaigns') {
    await Promise.all([campaigns(), realtime()])
    if (run === loading) document.body.dataset.loaded = location.search
    return
  }
  const chips = renderFilters()
  // The metric cards first, then the chart, then the breakdowns: the
  // embedded engine answers one query at a time, and asked everything at
  // once it filled the cards after every breakdown (bench/BENCHMARKS.md).
  const [agg] = await Promise.all([cards(), realtime()])
  if (run !== loading) return
  if (agg && !state.getAll('filters').length && ['visitors', 'pageviews', 'events'].every((m) => agg.results[m]?.value === 0) && await neverSeen()) {
    $('web').hidden = true
    showEmpty(load)
    document.body.dataset.loaded = location.search
    return
  }
  if (goalsConfigured === null) goalsConfigured = await getJSON(api('/api/v1/stats/goals', {}, { filters: false })).then((b) => b.results.length > 0).catch(() => true)
  await chart()
  if (run !== loading) return
  await Promise.all([breakdowns(goalsConfigured), privacy(), chips])
  if (run === loading) document.body.dataset.loaded = location.search // every card is filled (tests wait for it)
}

async function realtime () {
  const q = new URLSearchParams({ site: state.get('site') || '' })
  if (state.get('auth')) q.set('auth', state.get('auth'))
  await guard($('realtime'), async () => {
    const body = await getJSON('/api/v1/stats/realtime?' + q)
    $('realtime-count').textContent = abbrev(body.visitors)
    $('realtime').title = body.visitors + ' visitors in the last 5 minutes'
  })
}

init().catch((e) => {
  if (e instanceof LoginRequired) { showLogin(); return }
  $('error').textContent = e.message
  $('error').hidden = false
})
