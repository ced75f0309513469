// The privacy card: what was not stored, and why, in plain words.
import { $, el, api, getJSON, guard } from './api.js'
import { exact, abbrev } from './format.js'

const REASONS = {
  dnt: ['Do Not Track', 'the browser asked not to be tracked'],
  gpc: ['Global Privacy Control', 'the browser asked not to have data sold or shared'],
  no_consent: ['No consent', 'this site asks for consent and none was given'],
  bot: ['Bots', 'crawlers and headless browsers are not people'],
  prefetch: ['Prefetch', 'the browser loaded the page ahead, nobody saw it'],
  opt_out: ['Opted out', 'the visitor switched measuring off for this site'],
  campaign: ['Closed campaigns', 'e-mail opens after the campaign closed'],
  referrer_spam: ['Referrer spam', 'fake visits advertising a site'],
}

export async function privacy () {
  const box = $('privacy')
  await guard(box, async () => {
    const body = await getJSON(api('/api/v1/suppressed'))
    $('privacy-csv').href = api('/api/v1/suppressed', { format: 'csv' })
    const rows = $('privacy-rows')
    rows.replaceChildren(el('tr', {}, el('td', {}, el('b', {}, 'Not stored')), el('td', { class: 'num', id: 'suppressed-total', title: exact(body.suppressed) },
      abbrev(body.suppressed) + ' (' + body.suppressed_percent + ' %)')))
    for (const r of body.reasons) {
      const [name, why] = REASONS[r.reason] || [r.reason, '']
      rows.append(el('tr', { 'data-reason': r.reason }, el('td', {}, name, el('span', { class: 'why' }, why ? ': ' + why : '')), el('td', { class: 'num', title: exact(r.count) }, abbrev(r.count))))
    }
    rows.append(el('tr', {}, el('td', {}, 'Stored'), el('td', { class: 'num', title: exact(body.stored) }, abbrev(body.stored))))
    const site = new URLSearchParams(location.search).get('site') || ''
    $('measures-link').href = '/privacy/' + encodeURIComponent(site)
  })
}
