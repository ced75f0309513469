// The metric cards (each a button that charts its metric, with the
// change against the comparison period) and the chart.
import { state, $, el, api, getJSON, update, guard } from './api.js'
import { METRICS, GOAL_LABELS, delta, exact } from './format.js'
import { goalFilter } from './filters.js'

// CARDS in Plausible's order; with a goal filter only what a goal means:
// unique conversions, total conversions, conversion rate.
const CARDS = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate', 'visit_duration', 'events', 'time_on_page', 'scroll_depth']
const GOAL_CARDS = ['visitors', 'events', 'conversion_rate']

export function chartMetric () {
  const m = state.get('metric') || 'visitors'
  const list = goalFilter() ? GOAL_CARDS : CARDS
  return list.includes(m) ? m : 'visitors'
}

const label = (m) => (goalFilter() && GOAL_LABELS[m]) || METRICS[m].label

// cards fills the metric cards and returns the aggregate.
export async function cards () {
  const box = $('cards')
  let body
  const shown = location.search
  await guard(box, async () => {
    body = await getJSON(api('/api/v1/stats/aggregate'))
    if (location.search !== shown) return // a newer state is loading
    box.dataset.for = shown
    const chosen = chartMetric()
    const list = goalFilter() ? GOAL_CARDS : CARDS
    box.replaceChildren(...list.filter((m) => body.results[m]).map((m) => {
      const r = body.results[m]
      const info = METRICS[m]
      const card = el('button', {
        type: 'button', class: 'card' + (m === chosen ? ' active' : ''), 'data-metric': m, 'aria-pressed': String(m === chosen),
        title: 'Show ' + label(m).toLowerCase() + ' in the chart', onclick: () => update((s) => s.set('metric', m)),
      }, el('span', { class: 'label' }, label(m)), el('span', { class: 'value', title: exact(r.value) }, info.fmt(r.value)))
      if ('comparison_value' in r) {
        const good = r.change === null || r.change === 0 ? '' : (r.change > 0) !== !!info.lowerIsBetter ? 'up' : 'down'
        card.append(el('span', { class: 'change ' + good, title: 'was ' + info.fmt(r.comparison_value) }, delta(m, r.change)),
          el('span', { class: 'was' }, 'was ' + info.fmt(r.comparison_value)))
      }
      return card
    }))
  })
  return body
}

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim()

// zones are the sites' time zones: hour buckets are drawn in the site's
// zone; day, week and month buckets are dates, drawn as UTC midnights.
export const zones = {}
export let plot
// window.mote gives tests and the console the chart.
window.mote = {}

function bucketLabel (iso, interval, zone) {
  const d = new Date(iso.length === 10 ? iso + 'T00:00:00Z' : iso)
  const opt = { hour: { hour: 'numeric', minute: '2-digit', weekday: 'short', timeZone: zone },
    day: { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' },
    week: { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' },
    month: { month: 'long', year: 'numeric', timeZone: 'UTC' } }[interval] || { timeZone: 'UTC' }
  return (interval === 'week' ? 'Week of ' : '') + d.toLocaleString('en', opt)
}

// dateAxis ticks dates at whole days (or months) at the least: uPlot's
// own choice put hour ticks under a 7-day chart of daily buckets.
const DAY = 86400
function dateAxis (axis, interval, xs) {
  const month = interval === 'month'
  // Months differ in length: their ticks are the buckets themselves.
  const every = Math.ceil(xs.length / 12)
  return {
    ...axis,
    incrs: [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 90 * DAY],
    splits: month ? () => xs.filter((_, i) => i % every === 0) : undefined,
    values: (u, vals) => vals.map((v) => new Date(v * 1e3).toLocaleDateString('en', month ? { month: 'short', year: 'numeric', timeZone: 'UTC' } : { month: 'short', day: 'numeric', timeZone: 'UTC' })),
  }
}

export async function chart () {
  const box = $('chart-panel')
  await guard(box, async () => {
    const m = chartMetric()
    const body = await getJSON(api('/api/v1/stats/timeseries', { metrics: m }))
    $('chart-title').textContent = label(m)
    $('chart-csv').href = api('/api/v1/stats/timeseries', { format: 'csv' })
    const daily = body.interval !== 'hour'
    const zone = daily ? 'UTC' : (zones[state.get('site')] || 'UTC')
    const xs = body.results.map((p) => Date.parse(daily ? p.date + 'T00:00:00Z' : p.date) / 1000)
    const data = [xs, body.results.map((p) => p[m])]
    const accent = css('--accent')
    const series = [{}, { label: label(m), stroke: accent, width: 2, fill: css('--accent-fill'), points: { show: xs.length < 40 } }]
    if (body.comparison) {
      data.push(xs.map((_, i) => body.comparison[i] ? body.comparison[i][m] : null))
      series.push({ label: 'Comparison', stroke: css('--muted'), dash: [4, 4], width: 1.5, points: { show: false } })
    }
    const fmt = METRICS[m].fmt
    const tip = $('chart-tip')
    const axis = { stroke: css('--muted'), grid: { stroke: css('--line'), width: 1 }, ticks: { stroke: css('--line') } }
    const el2 = $('chart')
    if (plot) plot.destroy()
    plot = new uPlot({
      width: el2.clientWidth || 600,
      height: 260,
      series,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), zone),
      scales: { y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [daily ? dateAxis(axis, body.interval, xs) : axis, { ...axis, size: 56, values: (u, vals) => vals.map((v) => fmt(v)) }],
      hooks: {
        setCursor: [(u) => {
          const i = u.cursor.idx
          if (i === null || i === undefined) { tip.hidden = true; return }
          const pt = body.results[i]
          let text = bucketLabel(pt.date, body.interval, zone) + ': ' + fmt(pt[m]) + ' ' + label(m).toLowerCase()
          if (body.comparison && body.comparison[i]) text += ' (was ' + fmt(body.comparison[i][m]) + ' on ' + bucketLabel(body.comparison[i].date, body.interval, zone) + ')'
          tip.textContent = text
          tip.hidden = false
        }],
      },
    }, data, el2)
    window.mote.plot = plot
    el2.dataset.zone = zone
    el2.dataset.metric = m
  })
}

window.addEventListener('resize', () => { if (plot) plot.setSize({ width: $('chart').clientWidth, height: 260 }) })
