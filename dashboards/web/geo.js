// Countries and regions by name and flag, and the world map of visitors.
// Country names come from the browser (Intl.DisplayNames), region names
// from ui/regions.json (the GeoLite2 City the collector takes the codes
// from, by dashboards/cmd/regions), flags are the Unicode regional
// indicator pairs, the map is ui/world.json (built from world-atlas).
import { el, svg, getJSON } from './api.js'
import { abbrev, exact } from './format.js'

const names = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames(['en'], { type: 'region' }) : null

export function countryName (code) {
  if (!/^[A-Z]{2}$/.test(code)) return code
  try { return (names && names.of(code)) || code } catch { return code }
}

export function flag (code) {
  if (!/^[A-Z]{2}$/.test(code)) return ''
  return String.fromCodePoint(...[...code].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65))
}

// regions is country → subdivision code → English name once
// loadRegionNames has fetched ui/regions.json (about 30 KB gzipped: only
// a page that shows a region asks for it).
let regions = null
let loadingRegions = null

// loadRegionNames fetches the region names once; it resolves to whether
// they are there. A failed fetch leaves the codes' labels and is tried
// again by the next region shown.
export function loadRegionNames () {
  loadingRegions ||= getJSON('/ui/regions.json').then((t) => { regions = t.regions; return true }, () => { loadingRegions = null; return false })
  return loadingRegions
}

// regionLabel: "US-CA" reads "California, United States" once the names
// are loaded; before, or for a code the table lacks, "CA, United States".
export function regionLabel (code) {
  const m = /^([A-Z]{2})-(.+)$/.exec(code)
  return m ? (regions?.[m[1]]?.[m[2]] || m[2]) + ', ' + countryName(m[1]) : code
}

// fold is text for a search: lower case, accents dropped ("Île" → "ile").
const fold = (s) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase()

// regionSearch is the "contains" filter that finds regions by name as
// well as by code: the API matches the stored codes, so the query goes
// with the codes among codes whose label contains it ("berlin" finds
// DE-BE, "Land Berlin, Germany"), as alternatives. A code that begins
// another of its country (EC-S, EC-SD) brings that one along: rare, and
// the CSV of the search stays what the list shows.
export function regionSearch (q, codes) {
  const want = fold(q)
  const named = codes.filter((c) => /^[A-Z]{2}-/.test(c) && fold(regionLabel(c)).includes(want))
  return 'region~' + [q, ...named].join('|')
}

let world
// map draws rows (country, visitors) on the world: the more visitors,
// the stronger the colour; a click filters by the country.
export async function drawMap (box, rows, onPick) {
  world = world || await getJSON('/ui/world.json')
  const max = Math.max(1, ...rows.map((r) => r.visitors))
  const by = Object.fromEntries(rows.map((r) => [r.value, r.visitors]))
  const s = svg('svg', { viewBox: `0 0 ${world.width} ${world.height}`, class: 'map', role: 'img', 'aria-label': 'Visitors by country' })
  for (const [code, d] of Object.entries(world.shapes)) {
    const n = by[code]
    const p = svg('path', { d, 'data-country': code })
    if (n) {
      p.setAttribute('class', 'has')
      p.style.fillOpacity = String(0.2 + 0.8 * n / max)
      p.addEventListener('click', () => onPick(code))
      const t = svg('title')
      t.textContent = countryName(code) + ': ' + exact(n) + ' visitors'
      p.append(t)
    }
    s.append(p)
  }
  box.replaceChildren(s, el('p', { class: 'note map-legend' },
    rows.length ? 'Most visitors: ' + flag(rows[0].value) + ' ' + countryName(rows[0].value) + ' (' + abbrev(rows[0].visitors) + ')' : 'No visitors with a known country'))
}
