// Countries by name and flag, and the world map of visitors. Names come
// from the browser (Intl.DisplayNames), flags are the Unicode regional
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

// regionLabel: "US-CA" reads "CA, United States".
export function regionLabel (code) {
  const m = /^([A-Z]{2})-(.+)$/.exec(code)
  return m ? m[2] + ', ' + countryName(m[1]) : code
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
