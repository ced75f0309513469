// A small fake browser window for the unit tests: just what the tracker
// touches, with every beacon, fetch and storage write recorded. The
// window, navigator and document are wrapped in proxies that log each
// property read, so a test can prove what the tracker looks at.
import { start } from '../src/tracker.js'

export function fakeWindow({
  href = 'https://shop.example/',
  attrs = { site: 'shop' },
  src = 'https://collector.example/m.js',
  referrer = '',
  nav = {},
  metas = [],
  prerendering = false,
  beacon = true,
  queue,
} = {}) {
  const listeners = []
  const target = (name) => ({
    addEventListener(type, f, opts) {
      listeners.push({ name, type, f, once: opts && opts.once })
    },
  })
  const beacons = []
  const fetches = []
  const storage = new Map()
  const reads = new Set()
  const loc = new URL(href)
  const navigate = (u) => {
    loc.href = new URL(u, loc.href).href
  }
  const document = {
    ...target('document'),
    currentScript: {
      src,
      getAttribute: (k) => (k.startsWith('data-') && k.slice(5) in attrs ? attrs[k.slice(5)] : null),
    },
    referrer,
    visibilityState: 'visible',
    prerendering,
    documentElement: { scrollHeight: 2000 },
    querySelector: (sel) => (metas.includes(sel) ? {} : null),
  }
  const navigator = {
    sendBeacon(url, body) {
      if (!beacon) return false
      beacons.push({ url, body: JSON.parse(body), raw: body })
      return true
    },
    ...nav,
  }
  const w = {
    ...target('window'),
    document,
    navigator,
    location: loc,
    history: {
      pushState: (s, t, u) => navigate(u),
      replaceState: (s, t, u) => navigate(u),
    },
    innerWidth: 1280,
    innerHeight: 800,
    scrollY: 0,
    localStorage: {
      getItem: (k) => (storage.has(k) ? storage.get(k) : null),
      setItem: (k, v) => storage.set(k, String(v)),
      removeItem: (k) => storage.delete(k),
    },
    fetch(url, init) {
      fetches.push({ url, init, body: JSON.parse(init.body) })
      return Promise.resolve({ status: 202 })
    },
  }
  if (queue) w.mote = { q: queue }
  const spy = (name, obj) =>
    new Proxy(obj, {
      get(o, k) {
        if (typeof k === 'string') reads.add(name + '.' + k)
        const v = o[k]
        if (v && typeof v === 'object' && (k === 'document' || k === 'navigator')) return spies[k]
        return v
      },
    })
  const spies = { document: spy('document', document), navigator: spy('navigator', navigator) }
  const win = spy('window', w)

  const fire = (name, type, ev = {}) => {
    for (const l of listeners.filter((l) => l.name === name && l.type === type)) {
      if (l.once) listeners.splice(listeners.indexOf(l), 1)
      l.f({ type, ...ev })
    }
  }
  return {
    w,
    win,
    loc,
    storage,
    reads,
    fetches,
    beacons,
    start: () => start(win),
    // sent returns the bodies sent so far and forgets them.
    sent: () => beacons.splice(0).map((b) => b.body),
    fire,
    // go navigates like a router: history.pushState on the real history,
    // through the tracker's wrapper.
    push: (u) => w.history.pushState({}, '', u),
    replace: (u) => w.history.replaceState({}, '', u),
    // back changes the location and fires popstate, as the browser does.
    back: (u) => {
      navigate(u)
      fire('window', 'popstate')
    },
    hide: () => {
      document.visibilityState = 'hidden'
      fire('document', 'visibilitychange')
    },
    show: () => {
      document.visibilityState = 'visible'
      fire('document', 'visibilitychange')
    },
    // click fires a click on an element inside <a href>, whose properties
    // come from the URL as an HTMLAnchorElement's do.
    click: (href, ev = {}) => {
      const a = new URL(href, loc.href)
      fire('document', ev.type || 'click', { target: { closest: (sel) => (sel === 'a[href]' ? a : null) }, ...ev })
    },
  }
}
