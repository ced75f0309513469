// Human units, as a marketer reads them: 1.2k visitors, 28.2 % bounce
// rate, 4m 07s per visit. Cards and tables show these; the exact number
// is in each cell's title and in the CSV.

// abbrev shortens a count: 999, 1.2k, 12.3k, 123k, 1.2M.
export function abbrev (n) {
  n = Number(n)
  const short = (v, unit) => (v < 100 ? String(Math.round(v * 10) / 10) : String(Math.round(v))) + unit
  if (n < 1000) return String(n)
  if (n < 999950) return short(n / 1e3, 'k')
  return short(n / 1e6, 'M')
}

export const exact = (n) => Number(n).toLocaleString('en')

export const percent = (v) => (Math.round(v * 10) / 10) + ' %'

// duration: 42s, 4m 07s, 1h 02m.
export function duration (s) {
  s = Math.round(s)
  const two = (v) => String(v).padStart(2, '0')
  if (s < 60) return s + 's'
  if (s < 3600) return Math.floor(s / 60) + 'm ' + two(s % 60) + 's'
  return Math.floor(s / 3600) + 'h ' + two(Math.floor(s / 60) % 60) + 'm'
}

// METRICS: every metric the API answers, its name and its unit. rate
// metrics change in points, the others in percent; lowerIsBetter colours
// a fall green.
export const METRICS = {
  visitors: { label: 'Unique visitors', short: 'Visitors', fmt: abbrev },
  visits: { label: 'Total visits', short: 'Visits', fmt: abbrev },
  pageviews: { label: 'Total pageviews', short: 'Pageviews', fmt: abbrev },
  views_per_visit: { label: 'Views per visit', short: 'Views / visit', fmt: (v) => String(Math.round(v * 100) / 100) },
  bounce_rate: { label: 'Bounce rate', short: 'Bounce rate', fmt: percent, rate: true, lowerIsBetter: true },
  visit_duration: { label: 'Visit duration', short: 'Visit duration', fmt: duration },
  events: { label: 'Total events', short: 'Events', fmt: abbrev },
  time_on_page: { label: 'Time on page', short: 'Time on page', fmt: duration },
  scroll_depth: { label: 'Scroll depth', short: 'Scroll depth', fmt: (v) => Math.round(v) + ' %' },
  conversion_rate: { label: 'Conversion rate', short: 'Conversion rate', fmt: percent, rate: true },
}

// GOAL_LABELS rename the cards while a goal filter is on: visitors are
// the visitors who converted, events the conversions.
export const GOAL_LABELS = { visitors: 'Unique conversions', events: 'Total conversions' }

// delta is a comparison's text: "▲ 12.5 %", "▼ 1.5 pts", "▲ 4,210 %"
// (no decimals from 100 on), "—" when the earlier value was 0 (a
// percentage of nothing means nothing).
export function delta (metric, change) {
  if (change === null || change === undefined) return '—'
  if (change === 0) return '0 %'
  const unit = METRICS[metric] && METRICS[metric].rate ? ' pts' : ' %'
  const size = Math.abs(change)
  return (change > 0 ? '▲ ' : '▼ ') + (size >= 100 ? exact(Math.round(size)) : String(size)) + unit
}
