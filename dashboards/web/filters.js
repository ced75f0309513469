// Filter chips: "Source is (none)", "Country is Germany", "Region is
// California, United States". A filter is "DIMENSION==VALUE" in the URL
// and the API; an empty value means "is empty", which is what a "(none)"
// row stands for.
import { state, el, update, $ } from './api.js'
import { countryName, regionLabel, loadRegionNames } from './geo.js'

export const DIMENSIONS = {
  page: 'Page', entry_page: 'Entry page', exit_page: 'Exit page', hostname: 'Hostname',
  source: 'Source', referrer: 'Referrer', channel: 'Channel',
  utm_source: 'UTM source', utm_medium: 'UTM medium', utm_campaign: 'UTM campaign', utm_term: 'UTM term', utm_content: 'UTM content',
  country: 'Country', region: 'Region', city: 'City',
  browser: 'Browser', browser_version: 'Browser version', os: 'Operating system', os_version: 'OS version',
  device: 'Device', screen: 'Screen size', event: 'Goal',
}

const OPS = [['!=', 'is not'], ['!~', 'does not contain'], ['==', 'is'], ['~', 'contains']]

// parse splits "dim==value" (the earliest operator wins, the longer at a tie).
export function parse (f) {
  let best = null
  for (const [tok, words] of OPS) {
    const i = f.indexOf(tok)
    if (i > 0 && (!best || i < best.i || (i === best.i && tok.length > best.tok.length))) best = { i, tok, words }
  }
  if (!best) return { dim: f, words: '', value: '' }
  return { dim: f.slice(0, best.i), words: best.words, value: f.slice(best.i + best.tok.length) }
}

export function valueLabel (dim, value) {
  if (value === '') return '(none)'
  if (dim === 'country') return countryName(value)
  if (dim === 'region') return regionLabel(value)
  return value
}

// exact: the operator compares whole values (is, is not), so a code
// there reads as its name; "contains" keeps the text that was typed.
const exact = (words) => words === 'is' || words === 'is not'

export function chipText (f) {
  const { dim, words, value } = parse(f)
  const name = DIMENSIONS[dim] || (dim.startsWith('prop:') ? 'Property ' + dim.slice(5) : dim)
  return name + ' ' + words + ' ' + value.split('|').map((v) => exact(words) ? valueLabel(dim, v) : v).join(' or ')
}

export function addFilter (dim, value) {
  const f = dim + '==' + value
  update((s) => { if (!s.getAll('filters').includes(f)) s.append('filters', f) })
}

export function goalFilter () {
  return state.getAll('filters').some((f) => /^(event|prop:[^=!~]+)(==|!=|~|!~)/.test(f))
}

// renderFilters draws the chips; a region chip is drawn again once the
// region names are loaded (the promise resolves then).
export async function renderFilters () {
  draw()
  const regional = state.getAll('filters').some((f) => { const p = parse(f); return p.dim === 'region' && exact(p.words) })
  if (regional && await loadRegionNames()) draw()
}

function draw () {
  const box = $('filters')
  box.replaceChildren()
  for (const f of state.getAll('filters')) {
    const text = chipText(f)
    box.append(el('span', { class: 'chip' }, text, el('button', {
      type: 'button', 'aria-label': 'Remove filter ' + text, title: 'Remove filter',
      onclick: () => update((s) => {
        const rest = s.getAll('filters').filter((x) => x !== f)
        s.delete('filters'); for (const x of rest) s.append('filters', x)
      }),
    }, '✕')))
  }
  box.hidden = !box.childElementCount
}
