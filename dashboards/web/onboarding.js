// The guided empty state: a site that has never received a hit shows how
// to install the snippet, and turns live by itself when the first hit
// arrives (the realtime count, polled every few seconds).
import { state, $, el, api, getJSON } from './api.js'

let session = { collector_port: '' }
export function setSession (s) { session = s }

// snippet is the tracker tag for this site: the collector serves /m.js on
// its own port of this host (behind a proxy, use the public address).
export function snippet (site) {
  const port = session.collector_port
  const origin = location.protocol + '//' + location.hostname + (port && port !== '80' && port !== '443' ? ':' + port : '')
  return `<script defer data-site="${site}" src="${origin}/m.js"></script>`
}

// neverSeen reports whether the site has no hit in all its retention.
export async function neverSeen () {
  const all = await getJSON(api('/api/v1/stats/aggregate', { period: 'all', metrics: 'visitors,pageviews,events', compare: null, from: null, to: null }, { filters: false }))
  return ['visitors', 'pageviews', 'events'].every((m) => all.results[m].value === 0)
}

let polling
export function showEmpty (onLive) {
  const site = state.get('site')
  const code = el('code', { id: 'snippet' }, snippet(site))
  $('empty').replaceChildren(
    el('h2', {}, 'Waiting for the first visit to ', el('b', {}, site)),
    el('p', {}, 'Paste this tag into the <head> of every page of the site, then open a page. This view turns into the dashboard as soon as the first pageview arrives.'),
    el('pre', {}, code),
    el('p', {}, el('button', { type: 'button', onclick: (ev) => navigator.clipboard?.writeText(code.textContent).then(() => { ev.target.textContent = 'Copied' }) }, 'Copy the tag')),
    el('p', { class: 'note' }, 'No cookies, no consent banner needed in exempt mode. Pages without JavaScript can use the pixel: <img src=".../p.gif?s=' + site + '">. ',
      el('a', { href: '/privacy/' + encodeURIComponent(site) }, 'What this site measures'), ' is a page your privacy policy can link to.'),
    el('p', { class: 'live-wait' }, el('span', { class: 'dot waiting' }), 'Listening for the first hit…'))
  $('empty').hidden = false
  clearInterval(polling)
  polling = setInterval(async () => {
    if (state.get('site') !== site) { clearInterval(polling); return }
    const q = new URLSearchParams({ site })
    if (state.get('auth')) q.set('auth', state.get('auth'))
    const rt = await getJSON('/api/v1/stats/realtime?' + q).catch(() => null)
    if (rt && rt.visitors > 0) { clearInterval(polling); $('empty').hidden = true; onLive() }
  }, 3000)
}

export function hideEmpty () { clearInterval(polling); $('empty').hidden = true }
