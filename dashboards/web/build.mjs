// Builds the dashboard's embedded files from web/ and the pinned npm
// modules (make dashboard-ui; commit the output, so that `go build` needs
// no npm):
//
//   ui/app.js       web/*.js bundled and minified by esbuild
//   ui/world.json   the world map: world-atlas's 1:110m country borders,
//                   projected here (Equal Earth) into SVG paths keyed by
//                   ISO 3166-1 alpha-2 code (the code Mote stores), so the
//                   page needs no geo library; fetched when the map shows
//   ui/vendor/      uPlot, as its package ships it
//
// and fails when the page's JS + CSS + map + region names exceed the
// budget gzipped. ui/regions.json (ISO 3166-2 code → English name, fetched
// when a region shows) is not built here but by dashboards/cmd/regions from
// the GeoLite2 City database (make dashboard-regions); it counts all the
// same.
import { build } from 'esbuild'
import { copyFileSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { createRequire } from 'node:module'
import path from 'node:path'
import { feature } from 'topojson-client'

const dir = path.dirname(new URL(import.meta.url).pathname)
// OUT writes the output elsewhere (the freshness test builds into a
// temporary directory and compares it with the committed ui/).
const ui = process.env.OUT || path.join(dir, '..', 'ui')
const require = createRequire(import.meta.url)
const countries = require('i18n-iso-countries')

// BUDGET is the most the dashboard may send gzipped (issue 17: 120 KB).
const BUDGET = 120 * 1024

await build({
  entryPoints: [path.join(dir, 'main.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  legalComments: 'none',
  outfile: path.join(ui, 'app.js'),
})

// Equal Earth (Šavrič, Patterson, Jenny 2018): a world map whose areas
// are true, so a large country does not look more visited than it is.
function equalEarth ([lon, lat]) {
  const A1 = 1.340264; const A2 = -0.081106; const A3 = 0.000893; const A4 = 0.003796
  const M = Math.sqrt(3) / 2
  const l = lon * Math.PI / 180
  const p = Math.asin(M * Math.sin(lat * Math.PI / 180))
  const p2 = p * p; const p6 = p2 * p2 * p2
  const x = l * Math.cos(p) / (M * (A1 + 3 * A2 * p2 + p6 * (7 * A3 + 9 * A4 * p2)))
  const y = p * (A1 + A2 * p2 + p6 * (A3 + A4 * p2))
  return [x, y]
}
// The map's box: x in [-2.71, 2.71], y in [-1.32, 1.32] scaled to 800 wide.
const SCALE = 800 / (2 * 2.7063)
const W = 800; const H = Math.round(2 * 1.3173627 * SCALE)
const pt = (c) => { const [x, y] = equalEarth(c); return [Math.round(W / 2 + x * SCALE), Math.round(H / 2 - y * SCALE)] }
// ringPath draws a ring; an edge that crosses the antimeridian (Russia,
// Fiji) starts a new subpath instead of striking across the map.
function ringPath (ring) {
  let d = ''; let last = ''; let lon = null; let broken = false
  for (const c of ring) {
    const [x, y] = pt(c)
    const s = x + ' ' + y
    const jump = lon !== null && Math.abs(c[0] - lon) > 180
    broken ||= jump
    if (s !== last) d += (d && !jump ? 'L' : 'M') + s
    last = s; lon = c[0]
  }
  return broken ? d : d + 'Z'
}
const topo = JSON.parse(readFileSync(require.resolve('world-atlas/countries-110m.json'), 'utf8'))
const shapes = {}
for (const f of feature(topo, topo.objects.countries).features) {
  if (f.id === '010') continue // Antarctica: nobody visits from there
  const code = f.id ? countries.numericToAlpha2(f.id) : undefined
  const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates
  const d = polys.map((p) => p.map(ringPath).join('')).join('')
  // Borders without an ISO code (Kosovo, Somaliland, N. Cyprus) are drawn
  // as land with no data.
  shapes[code || '_' + f.properties.name] = d
}
writeFileSync(path.join(ui, 'world.json'), JSON.stringify({ width: W, height: H, shapes }))

mkdirSync(path.join(ui, 'vendor'), { recursive: true })

for (const f of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(require.resolve('uplot/dist/' + f), path.join(ui, 'vendor', f))

let total = 0
const rows = []
const built = ['app.js', 'vendor/uPlot.iife.min.js', 'vendor/uPlot.min.css', 'world.json']
for (const f of ['app.js', 'style.css', 'vendor/uPlot.iife.min.js', 'vendor/uPlot.min.css', 'world.json', 'regions.json', 'index.html']) {
  const b = readFileSync(path.join(built.includes(f) ? ui : path.join(dir, '..', 'ui'), f))
  const gz = gzipSync(b, { level: 9 }).length
  total += gz
  rows.push(`${f.padEnd(26)} ${String(b.length).padStart(7)} B  ${String(gz).padStart(6)} B gzipped`)
}
console.log(rows.join('\n') + `\ntotal ${(total / 1024).toFixed(1)} KB gzipped (budget ${BUDGET / 1024} KB)`)
if (total > BUDGET) {
  console.error('over the budget')
  process.exit(1)
}
