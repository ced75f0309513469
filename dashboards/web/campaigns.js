// The email campaigns report: every campaign's totals, then the chosen
// one in full: opens and clicks per day (human and machine apart),
// e-mail clients, countries, why opens were judged machine, and links.
import { state, $, el, api, getJSON, update, guard } from './api.js'
import { abbrev, exact } from './format.js'
import { flag, countryName } from './geo.js'

const pct = (f) => (Math.round(f * 1000) / 10) + ' %'

// REASONS say in words why an open was judged a machine's.
const REASONS = {
  apple_mpp: 'Apple Mail Privacy Protection (loads every image on delivery)',
  gmail_proxy: 'Gmail image proxy',
  yahoo_proxy: 'Yahoo / AOL image proxy',
  microsoft_scanner: 'Microsoft Defender link and image scanning',
  security_scanner: 'Security scanner (Barracuda, Mimecast, Proofpoint, …)',
  prefetch: 'Prefetch by the mail client',
  bot: 'Other automated agent',
  no_user_agent: 'No client identification at all',
}

function simple (headers, rows, cls = '') {
  return el('table', { class: cls },
    el('thead', {}, el('tr', {}, ...headers.map((h, i) => el('th', { scope: 'col', class: i ? 'num' : '' }, h)))),
    el('tbody', {}, ...(rows.length ? rows : [el('tr', {}, el('td', { class: 'note', colspan: headers.length }, 'None yet'))])))
}
const tr = (...cells) => el('tr', {}, ...cells.map((c, i) => el('td', { class: i ? 'num' : '' }, c)))

let dayPlot
function dayChart (box, days) {
  if (dayPlot) dayPlot.destroy()
  const css = (n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim()
  const xs = days.map((d) => Date.parse(d.day) / 1000)
  const axis = { stroke: css('--muted'), grid: { stroke: css('--line'), width: 1 }, ticks: { stroke: css('--line') } }
  dayPlot = new uPlot({
    width: box.clientWidth || 600, height: 220, 
    legend: { show: false },
    // One tick per day: a campaign's few days are dates, not hours.
    axes: [{ ...axis, splits: xs.length <= 31 ? () => xs : undefined, values: (u, vals) => vals.map((v) => new Date(v * 1e3).toLocaleDateString('en', { month: 'short', day: 'numeric', timeZone: 'UTC' })) }, axis],
    scales: { y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    series: [{ label: 'Day' },
      { label: 'Human opens', stroke: css('--accent'), width: 2 },
      { label: 'Machine opens', stroke: css('--muted'), dash: [4, 4], width: 1.5 },
      { label: 'Clicks', stroke: css('--good'), width: 2 }],
  }, [xs, days.map((d) => d.opens - d.machine_opens), days.map((d) => d.machine_opens), days.map((d) => d.clicks)], box)
}

export async function campaigns () {
  const box = $('campaigns')
  await guard(box, async () => {
    const body = await getJSON(api('/api/v1/stats/campaigns', {}, { filters: false }))
    $('campaigns-csv').href = api('/api/v1/stats/campaigns', { format: 'csv' }, { filters: false })
    const pick = body.results.find((c) => c.campaign_id === state.get('campaign')) || body.results[0]
    $('campaign-list').replaceChildren(simple(['Campaign', 'Sends', 'Opens (human / machine)', 'Unique opens', 'Open rate', 'Human open rate', 'Clicks', 'Click to open'],
      body.results.map((c) => {
        const row = tr(el('button', { type: 'button', class: 'row-filter', onclick: () => update((s) => s.set('campaign', c.campaign_id)) }, c.name || c.campaign_id),
          exact(c.sends), exact(c.opens) + ' (' + exact(c.human_opens) + ' / ' + exact(c.machine_opens) + ')', exact(c.unique_opens),
          pct(c.open_rate), pct(c.human_open_rate), exact(c.clicks) + ' (' + exact(c.unique_clicks) + ' unique)', pct(c.click_to_open_rate))
        row.dataset.campaign = c.campaign_id
        if (c === pick) row.classList.add('active')
        for (const [i, k] of ['name', 'sends', 'opens', 'unique-opens', 'open-rate', 'human-open-rate', 'clicks', 'cto'].entries()) row.children[i].classList.add(k)
        return row
      })))
    const report = $('campaign-report')
    report.hidden = !pick
    if (!pick) return
    $('campaign-title').textContent = pick.name || pick.campaign_id
    dayChart($('campaign-days'), pick.days || [])
    $('campaign-days').dataset.days = JSON.stringify((pick.days || []).map((d) => [d.opens - d.machine_opens, d.machine_opens, d.clicks]))
    $('campaign-clients').replaceChildren(simple(['Client (browser · system)', 'Human opens', 'Machine opens'],
      (pick.clients || []).map((c) => tr((c.browser || '(unknown)') + ' · ' + (c.os || '(unknown)'), abbrev(c.opens), abbrev(c.machine_opens)))))
    $('campaign-countries').replaceChildren(simple(['Country', 'Human opens'],
      (pick.countries || []).map((c) => tr(c.country ? flag(c.country) + ' ' + countryName(c.country) : '(unknown)', abbrev(c.opens)))))
    $('campaign-reasons').replaceChildren(simple(['Why a machine', 'Opens and clicks'],
      (pick.machine_reasons || []).map((r) => tr(REASONS[r.reason] || r.reason, abbrev(r.hits)))))
    $('campaign-links').replaceChildren(simple(['Link', 'Clicks', 'Unique clicks'],
      (pick.top_links || []).map((l) => tr(l.url, abbrev(l.clicks), abbrev(l.unique_clicks)))))
  })
}
