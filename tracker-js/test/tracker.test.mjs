// Unit tests of the tracker against the fake window in fake.mjs. The
// end-to-end test in real Chromium is e2e.mjs, run by e2e_test.go.
import { test, mock, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { fakeWindow } from './fake.mjs'

// Every key a beacon may carry: the collector's body (event_body.go).
const BODY_KEYS = new Set(['s', 'n', 'u', 'r', 'w', 'c', 'p', 't', 'd'])
const API = 'https://collector.example/api/event'

beforeEach(() => mock.timers.enable({ apis: ['Date'], now: 1_000_000 }))
afterEach(() => mock.timers.reset())

function started(opts) {
  const f = fakeWindow(opts)
  f.start()
  return f
}

// checkBodies fails on a beacon with a key the collector does not define.
function checkBodies(f) {
  for (const b of f.beacons) {
    assert.equal(b.url, API)
    for (const k of Object.keys(b.body)) assert.ok(BODY_KEYS.has(k), `unexpected key ${k} in ${b.raw}`)
  }
}

test('pageview on load: site, URL without fragment, referrer, width', () => {
  const f = started({ href: 'https://shop.example/pricing?utm_source=x#plans', referrer: 'https://news.example/a' })
  checkBodies(f)
  assert.deepEqual(f.sent(), [
    { s: 'shop', u: 'https://shop.example/pricing?utm_source=x', r: 'https://news.example/a', w: 1280 },
  ])
})

test('no referrer: r is left out', () => {
  const f = started()
  assert.deepEqual(f.sent(), [{ s: 'shop', u: 'https://shop.example/', w: 1280 }])
})

test('the collector is the script origin, or data-api', () => {
  let f = started({ src: 'https://stats.example:8443/m.js?v=2' })
  assert.equal(f.beacons[0].url, 'https://stats.example:8443/api/event')
  f = started({ attrs: { site: 'shop', api: 'https://proxy.shop.example/mote' } })
  assert.equal(f.beacons[0].url, 'https://proxy.shop.example/mote/api/event')
})

test('SPA: one pageview per route; engagement of the page left goes first', () => {
  const f = started({ href: 'https://shop.example/app' })
  f.sent()
  mock.timers.tick(3000)
  f.push('/app/a')
  assert.deepEqual(f.sent(), [
    { n: 'engagement', u: 'https://shop.example/app', t: 3000, d: 40, s: 'shop', w: 1280 },
    { r: 'https://shop.example/app', u: 'https://shop.example/app/a', s: 'shop', w: 1280 },
  ])
  f.push('/app/a') // same route again
  f.push('/app/a?tab=2') // query only
  f.replace('/app/a#x') // fragment only
  assert.deepEqual(f.sent(), [])
  f.replace('/app/b')
  f.back('/app/a')
  const views = f.sent().filter((b) => !b.n)
  assert.deepEqual(
    views.map((b) => b.u),
    ['https://shop.example/app/b', 'https://shop.example/app/a'],
  )
  f.fire('window', 'popstate') // popstate without a path change
  assert.deepEqual(f.sent(), [])
  checkBodies(f)
})

test('hash routing is off by default and on with data-hash', () => {
  let f = started({ href: 'https://shop.example/#/home' })
  assert.equal(f.sent()[0].u, 'https://shop.example/')
  f.back('/#/about')
  f.fire('window', 'hashchange')
  assert.deepEqual(f.sent(), [])

  f = started({ href: 'https://shop.example/#/home', attrs: { site: 'shop', hash: '' } })
  assert.equal(f.sent()[0].u, 'https://shop.example/#/home')
  f.loc.href = 'https://shop.example/#/about'
  f.fire('window', 'hashchange')
  f.fire('window', 'popstate') // browsers fire both; counted once
  assert.deepEqual(
    f.sent().filter((b) => !b.n).map((b) => b.u),
    ['https://shop.example/#/about'],
  )
})

test('custom events with props and callback; calls queued before load replay in order', () => {
  const f = started({ queue: [['Queued', { props: { early: 'yes' } }], ['Second']] })
  assert.deepEqual(
    f.sent().map((b) => [b.n, b.p]),
    [
      [undefined, undefined],
      ['Queued', { early: 'yes' }],
      ['Second', undefined],
    ],
  )
  let called = 0
  f.w.mote('Signup', { props: { plan: 'pro', seats: 3 }, callback: () => called++ })
  assert.deepEqual(f.sent(), [{ n: 'Signup', p: { plan: 'pro', seats: 3 }, u: 'https://shop.example/', s: 'shop', w: 1280 }])
  assert.equal(called, 1)
  checkBodies(f)
})

test('outbound links and downloads, without query or fragment', () => {
  const f = started()
  f.sent()
  f.click('https://other.example/page?token=secret#x')
  f.click('/docs/guide.pdf?sig=abc')
  f.click('/pricing') // internal: nothing
  f.click('mailto:hi@shop.example') // not http(s): nothing
  f.click('https://other.example/mid', { type: 'auxclick', button: 1 }) // middle click opens a tab
  f.click('https://other.example/right', { type: 'auxclick', button: 2 }) // context menu: nothing
  f.fire('document', 'click', { target: { closest: () => null } }) // not on a link
  assert.deepEqual(
    f.sent().map((b) => [b.n, b.p.url]),
    [
      ['Outbound Link: Click', 'https://other.example/page'],
      ['File Download', 'https://shop.example/docs/guide.pdf'],
      ['Outbound Link: Click', 'https://other.example/mid'],
    ],
  )
})

test('data-downloads replaces the extension list', () => {
  const f = started({ attrs: { site: 'shop', downloads: 'zip, .EPUB' } })
  f.sent()
  f.click('/a.pdf')
  f.click('/b.zip')
  f.click('/c.epub')
  assert.deepEqual(
    f.sent().map((b) => b.p.url),
    ['https://shop.example/b.zip', 'https://shop.example/c.epub'],
  )
})

test('404 from the script attribute or a meta tag', () => {
  for (const opts of [{ attrs: { site: 'shop', 404: '' } }, { metas: ['meta[name=mote-404]'] }]) {
    const f = started({ href: 'https://shop.example/gone', ...opts })
    assert.deepEqual(
      f.sent().map((b) => b.n),
      [undefined, '404'],
    )
  }
  assert.deepEqual(
    started().sent().map((b) => b.n),
    [undefined],
  )
})

test('engagement: visible time and max scroll depth, sent once per hide', () => {
  const f = started({ href: 'https://shop.example/long' })
  f.w.document.documentElement.scrollHeight = 4000
  f.sent()
  f.w.scrollY = 1600 // (1600 + 800) / 4000 = 60%
  f.fire('window', 'scroll')
  f.w.scrollY = 400 // scrolling back up keeps the maximum
  f.fire('window', 'scroll')
  mock.timers.tick(5000)
  f.hide()
  f.fire('window', 'pagehide') // after hidden: nothing new to send
  mock.timers.tick(60_000) // hidden time does not count
  f.show()
  mock.timers.tick(2000)
  // Chromium fires pagehide while the page is still "visible", then hides
  // it: one beacon, and no time counted after pagehide.
  f.fire('window', 'pagehide')
  mock.timers.tick(10)
  f.hide()
  assert.deepEqual(
    f.sent().map((b) => [b.n, b.u, b.t, b.d]),
    [
      ['engagement', 'https://shop.example/long', 5000, 60],
      ['engagement', 'https://shop.example/long', 2000, 60],
    ],
  )
})

for (const [name, nav] of [
  ['Do Not Track', { doNotTrack: '1' }],
  ['Global Privacy Control', { globalPrivacyControl: true }],
]) {
  test(`${name}: nothing is sent`, () => {
    const f = started({ nav })
    f.w.mote('Signup')
    f.push('/next')
    f.click('https://other.example/')
    mock.timers.tick(1000)
    f.hide()
    assert.equal(f.beacons.length + f.fetches.length, 0)
  })
}

test('data-consent="required" holds everything until mote.consent(true)', () => {
  const f = started({ attrs: { site: 'shop', consent: 'required' }, queue: [['Early']] })
  f.w.mote('Before')
  assert.equal(f.beacons.length, 0)
  f.w.mote.consent(true)
  assert.deepEqual(
    f.sent().map((b) => [b.n, b.c]),
    [
      [undefined, 1],
      ['Early', 1],
      ['Before', 1],
    ],
  )
  f.w.mote('After')
  assert.deepEqual(f.sent()[0].c, 1)
  f.w.mote.consent(false)
  f.w.mote('Withdrawn')
  f.w.mote.consent(true) // what was sent while withdrawn is gone, not held
  assert.deepEqual(f.sent(), [])
})

test('without data-consent nothing carries c unless consent was given', () => {
  const f = started()
  assert.equal(f.sent()[0].c, undefined)
  f.w.mote.consent(true)
  f.w.mote('X')
  assert.equal(f.sent()[0].c, 1)
})

test('mote.optOut() is the only storage write, and stops sending', () => {
  const f = started()
  f.sent()
  f.w.mote('Before')
  f.push('/a')
  assert.equal(f.storage.size, 0)
  f.sent()
  f.w.mote.optOut()
  assert.deepEqual([...f.storage], [['mote_optout', '1']])
  f.w.mote('Nope')
  f.push('/b')
  assert.deepEqual(f.sent(), [])
  f.w.mote.optOut(false)
  assert.equal(f.storage.size, 0)
  f.w.mote('Back')
  assert.deepEqual(
    f.sent().map((b) => b.n),
    ['Back'],
  )
  // An opt-out stored earlier holds from the first pageview.
  const g = fakeWindow()
  g.storage.set('mote_optout', '1')
  g.start()
  assert.equal(g.beacons.length, 0)
})

test('data-exclude globs: * within a segment, ** across', () => {
  const f = started({ href: 'https://shop.example/admin/users/7', attrs: { site: 'shop', exclude: '/admin/**, /drafts/*' } })
  f.w.mote('InAdmin')
  f.push('/drafts/a')
  f.push('/drafts/a/b')
  f.push('/admin')
  f.push('/shop.html')
  assert.deepEqual(
    f.sent().filter((b) => !b.n).map((b) => b.u),
    ['https://shop.example/drafts/a/b', 'https://shop.example/admin', 'https://shop.example/shop.html'],
  )
  // Regular-expression characters in a glob are literal.
  const g = started({ href: 'https://shop.example/shopXhtml', attrs: { site: 'shop', exclude: '/shop.html' } })
  assert.equal(g.sent().length, 1)
})

test('fetch with keepalive when sendBeacon refuses', () => {
  const f = started({ beacon: false })
  assert.equal(f.fetches.length, 1)
  const { url, init, body } = f.fetches[0]
  assert.equal(url, API)
  assert.equal(init.method, 'POST')
  assert.equal(init.keepalive, true)
  assert.equal(init.credentials, 'omit')
  assert.equal(body.u, 'https://shop.example/')
})

test('a prerendered page counts when it is shown', () => {
  const f = started({ prerendering: true })
  assert.equal(f.beacons.length, 0)
  f.fire('document', 'prerenderingchange')
  f.fire('document', 'prerenderingchange')
  assert.equal(f.sent().length, 1)
})

test('a page restored from the back/forward cache counts again', () => {
  const f = started()
  f.sent()
  f.fire('window', 'pageshow', { persisted: false })
  assert.equal(f.sent().length, 0)
  f.fire('window', 'pageshow', { persisted: true })
  assert.deepEqual(
    f.sent().map((b) => b.u),
    ['https://shop.example/'],
  )
})

test('the script included twice counts once', () => {
  const f = started()
  f.start()
  assert.equal(f.beacons.length, 1)
})

test('reads nothing about the device but the viewport width', () => {
  const f = started({ href: 'https://shop.example/a', attrs: { site: 'shop', 404: '' } })
  f.w.mote('X', { props: { a: 1 } })
  f.push('/b')
  f.click('https://other.example/')
  f.fire('window', 'scroll')
  f.hide()
  f.w.mote.optOut()
  const allowed = new Set([
    'window.document', 'window.navigator', 'window.location', 'window.history', 'window.mote',
    'window.addEventListener', 'window.innerWidth', 'window.innerHeight', 'window.scrollY',
    'window.localStorage', 'window.fetch',
    'document.currentScript', 'document.visibilityState', 'document.prerendering', 'document.referrer',
    'document.documentElement', 'document.querySelector', 'document.addEventListener',
    'navigator.doNotTrack', 'navigator.globalPrivacyControl', 'navigator.sendBeacon',
  ])
  const extra = [...f.reads].filter((r) => !allowed.has(r))
  assert.deepEqual(extra, [])
  // Positive control: the spy does see reads.
  assert.ok(f.reads.has('window.innerWidth') && f.reads.has('navigator.globalPrivacyControl'))
})
