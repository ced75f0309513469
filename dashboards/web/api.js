// The page's state (in the URL: site, period, dates, compare, filters,
// chart metric, view, share key) and the stats API calls built from it.

export const state = new URLSearchParams(location.search)
export const $ = (id) => document.getElementById(id)

// query is the stats parameters of the current state plus extra.
export function query (extra = {}, { filters = true } = {}) {
  const q = new URLSearchParams()
  for (const k of ['site', 'period', 'from', 'to', 'compare', 'exact', 'auth']) if (state.get(k)) q.set(k, state.get(k))
  if (state.get('period') !== 'custom') { q.delete('from'); q.delete('to') }
  if (filters) for (const f of state.getAll('filters')) q.append('filters', f)
  for (const [k, v] of Object.entries(extra)) {
    if (k === 'filters') for (const f of v) q.append('filters', f)
    else if (v === null) q.delete(k)
    else q.set(k, v)
  }
  return q
}

export const api = (path, extra, opts) => path + '?' + query(extra, opts).toString()

export class LoginRequired extends Error {}

export async function getJSON (url) {
  const r = await fetch(url, { credentials: 'same-origin' })
  if (r.status === 401) throw new LoginRequired('login required')
  const body = await r.json().catch(() => ({}))
  if (!r.ok) throw new Error(body.error || r.status + ' ' + r.statusText)
  if (body.sample_one_in) noteSample(body.sample_one_in)
  return body
}

// A card with filters over a period of many rows is counted from a sample
// of visitors (the API's sample_one_in): the page says so, by the
// thinnest sample of the view, and offers the exact numbers (slower).
let thinnest = 0
export function clearSample () {
  thinnest = 0
  $('sampled').hidden = true
}
function noteSample (n) {
  if (n <= thinnest) return
  thinnest = n
  $('sampled').replaceChildren('≈ Estimated from 1 in ' + n + ' visitors: filtered views of this many hits are sampled.',
    el('button', { type: 'button', onclick: () => update((s) => s.set('exact', 'true')) }, 'Exact numbers'))
  $('sampled').hidden = false
}

// el builds an element: attributes (on* are listeners) and children.
export function el (tag, attrs = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v)
    else e.setAttribute(k, v === true ? '' : v)
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c)
  return e
}

const SVG = 'http://www.w3.org/2000/svg'
export function svg (tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  return e
}

// guard runs a card's fill and shows its failure on the card itself,
// so that one broken query leaves the others readable.
export async function guard (box, fill) {
  box.querySelector(':scope > .card-error')?.remove()
  try {
    await fill()
  } catch (e) {
    if (e instanceof LoginRequired) throw e
    box.append(el('p', { class: 'card-error', role: 'alert' }, 'Could not load: ' + e.message))
  }
}

let onChange = () => {}
export function onStateChange (f) { onChange = f }

// update changes the state, writes it to the URL and reloads the view.
export function update (change) {
  change(state)
  history.replaceState(null, '', '?' + state.toString())
  onChange()
}
