// Mote's browser tracker. start(w) wires it to a window: main.js passes the
// real one, the unit tests a small fake. Everything reaches the browser
// through w, so the tests see every side effect.
//
// What it sends is the collector's beacon body (collector/event_body.go):
// {s, n, u, r, w, c, p, t, d}. What it reads about the device is the
// viewport width, nothing else. It writes no cookie and no storage entry;
// the one exception is mote.optOut(), a flag the visitor asks for.

// Downloads counted by default (data-downloads replaces the list): the
// common document, archive, installer and media extensions.
const DOWNLOADS = 'pdf,xlsx,docx,pptx,csv,txt,zip,gz,7z,rar,dmg,exe,pkg,mp3,mp4,mov,wav'

// OPT_OUT is the localStorage key of the visitor's own opt-out.
const OPT_OUT = 'mote_optout'

export function start(w) {
  const d = w.document
  const nav = w.navigator
  const loc = w.location
  const script = d.currentScript
  // A second copy of the script on the page must not count twice.
  if (!script || w.mote?.optOut) return
  const attr = (k) => script.getAttribute('data-' + k)
  const site = attr('site')
  const api = (attr('api') || new URL(script.src).origin) + '/api/event'
  const hash = attr('hash') != null
  // data-exclude="/admin/**, /drafts/*": * stays within a path segment,
  // ** crosses them; a page matching any glob is never sent.
  const exclude = (attr('exclude') || '').split(',').filter((g) => g.trim()).map((g) =>
    RegExp('^' + g.trim().replace(/[^\w*/-]/g, '\\$&').replace(/\*\*?/g, (m) => (m[1] ? '.*' : '[^/]*')) + '$'))
  const downloads = RegExp('\\.(' + (attr('downloads') || DOWNLOADS).replace(/[\s.]/g, '').replace(/,/g, '|') + ')$', 'i')

  // In "required" mode nothing leaves the page before mote.consent(true):
  // until the visitor decides, beacons wait in held; after a refusal they
  // are dropped.
  let allowed = attr('consent') != 'required'
  let consented = 0
  let held = []

  // The page the last pageview was for: its path (what "a new page" means)
  // and its URL (where its engagement belongs).
  let lastPath, lastURL
  // Engagement of the current page: visible ms not yet sent, when the
  // current visible stretch began (0 while hidden), max scroll percent.
  let visibleMs = 0
  let since = 0
  let depth = 0

  const visible = () => d.visibilityState == 'visible'
  const pagePath = (u) => u.pathname + (hash ? u.hash : '')
  // The fragment is the page's business (tokens travel there) unless the
  // site routes by it.
  const pageURL = () => (hash ? loc.href : loc.href.split('#')[0])

  const optedOut = () => {
    try {
      return w.localStorage.getItem(OPT_OUT) == '1'
    } catch (e) {
      // Storage disabled: the visitor cannot have opted out this way.
    }
  }

  function send(b) {
    if (nav.doNotTrack == '1' || nav.globalPrivacyControl === true || optedOut()) return
    b.u = b.u || pageURL()
    if (exclude.some((r) => r.test(pagePath(new URL(b.u))))) return
    if (!allowed) return held && held.push(b)
    b.s = site
    b.w = w.innerWidth
    if (consented) b.c = 1
    const body = JSON.stringify(b)
    // sendBeacon survives the page unloading and, with a string, sends
    // text/plain: a simple request, no CORS preflight.
    if (!nav.sendBeacon?.(api, body)) {
      w.fetch(api, { method: 'POST', body, keepalive: true, credentials: 'omit' }).catch(() => {})
    }
  }

  // mote(name, {props, callback}) records a custom event. The callback
  // runs even when nothing was sent, so a page waiting on it never hangs.
  function mote(name, o) {
    o = o || {}
    if (name) send({ n: name, p: o.props })
    if (o.callback) o.callback()
  }

  function scroll() {
    const h = d.documentElement.scrollHeight
    depth = Math.max(depth, Math.min(100, Math.round(((w.scrollY + w.innerHeight) / h) * 100)) || 0)
  }

  // engage sends the visible time of the current page since the last
  // engagement beacon, with the deepest scroll so far. leaving is set on
  // pagehide and on hiding: Chromium fires pagehide while the page still
  // says "visible", and the time must not start again.
  function engage(leaving) {
    const now = Date.now()
    if (since) visibleMs += now - since
    since = !leaving && visible() ? now : 0
    if (visibleMs > 0 && lastURL) {
      scroll()
      send({ n: 'engagement', u: lastURL, t: visibleMs, d: depth })
      visibleMs = 0
    }
  }

  // page counts a pageview when the path changed: pushState, replaceState
  // and popstate all land here, and a query-only change is the same page.
  function page() {
    const path = pagePath(loc)
    if (path == lastPath) return
    engage()
    depth = 0
    scroll()
    const ref = lastURL || d.referrer
    lastPath = path
    lastURL = pageURL()
    send({ r: ref || undefined })
  }

  function click(e) {
    const a = e.target.closest?.('a[href]')
    if (!a || (e.type == 'auxclick' && e.button != 1)) return
    // Query and fragment stay behind: they may carry the visitor's tokens.
    const props = { props: { url: a.href.split(/[?#]/)[0] } }
    if (/^https?:$/.test(a.protocol) && a.host != loc.host) mote('Outbound Link: Click', props)
    else if (downloads.test(a.pathname)) mote('File Download', props)
  }

  const queued = w.mote?.q || []
  w.mote = mote
  // consent(true) releases what was held; consent(false) stops sending
  // and drops it, in either consent mode.
  mote.consent = (yes) => {
    allowed = consented = yes ? 1 : 0
    const h = held
    held = 0
    if (yes && h) h.forEach(send)
  }
  // optOut() stores the visitor's opt-out for this site's origin;
  // optOut(false) removes it.
  mote.optOut = (on) => {
    try {
      if (on === false) w.localStorage.removeItem(OPT_OUT)
      else w.localStorage.setItem(OPT_OUT, '1')
    } catch (e) {
      // Storage disabled: nothing to remember it in.
    }
  }

  for (const m of ['pushState', 'replaceState']) {
    const f = w.history[m]
    w.history[m] = function () {
      const r = f.apply(this, arguments)
      page()
      return r
    }
  }
  w.addEventListener('popstate', page)
  if (hash) w.addEventListener('hashchange', page)
  // A page restored from the back/forward cache is seen again.
  w.addEventListener('pageshow', (e) => {
    if (e.persisted) {
      lastPath = 0
      page()
    }
  })
  d.addEventListener('visibilitychange', () => (visible() ? (since = Date.now()) : engage(1)))
  w.addEventListener('pagehide', () => engage(1))
  w.addEventListener('scroll', scroll, { passive: true })
  d.addEventListener('click', click, true)
  d.addEventListener('auxclick', click, true)

  if (visible()) since = Date.now()
  // A prerendered page counts once someone actually looks at it.
  if (d.prerendering) d.addEventListener('prerenderingchange', first, { once: true })
  else first()

  function first() {
    page()
    if (attr('404') != null || d.querySelector('meta[name=mote-404]')) mote('404')
    queued.forEach((a) => mote.apply(0, a))
  }
}
