package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/storage"
)

const demoUsage = `usage: mote demo [--site demo] [--days 30] [--visitors 50000] [-config mote.yaml]

Fills the configured storage with synthetic traffic for a site, pushed
through the real ingest path (HTTP, privacy gate, enrichment, spool,
batcher): a diurnal curve, search/social/AI/email sources and campaigns,
desktop/mobile/tablet browsers, visitors from several countries, pages of a
single-page app, sign-ups and engagement; and an email newsletter (the
campaign SITE-newsletter, created on the first run) with opens through
Apple's and Google's proxies and mail clients, and signed clicks. Each hit
is stamped with its simulated time, so the last --days days fill up. Stop
"mote serve" first when the storage is embedded.
`

// demoMain is "mote demo".
func demoMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mote demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoUsage); fs.PrintDefaults() }
	site := fs.String("site", "demo", "configured site to fill")
	days := fs.Int("days", 30, "days of traffic, ending now")
	visitors := fs.Int("visitors", 50000, "distinct visitors")
	progress := progressFlag(fs)
	cfg, err := loadConfig(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil && (*days < 1 || *days > 400 || *visitors < 1 || *visitors > 5_000_000) {
		err = errors.New("--days must be 1-400 and --visitors 1-5000000")
	}
	var target *mote.Site
	if err == nil {
		for _, s := range cfg.sites() {
			if s.ID == *site {
				target = &s
			}
		}
		if target == nil {
			err = fmt.Errorf("--site %q is not in the configuration", *site)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "mote demo:", err)
		return 2
	}
	log := newLogger(stderr, cfg.LogLevel)
	n, err := runDemo(ctx, cfg, *target, *days, *visitors, time.Now().UTC(), log, progress(stderr))
	if err != nil {
		log.Error("demo failed", "err", err)
		return 1
	}
	fmt.Fprintf(stdout, "stored %d demo hits for site %s over %d days\n", n, *site, *days)
	return 0
}

// demoHit is one synthetic request, sent at its simulated time.
type demoHit struct {
	at       time.Time
	target   string // path and query for GET, or "" for a POST /api/event
	body     string
	ip, ua   string
	visitor  int
	redirect bool // a signed click link, answered 302
}

// runDemo generates the traffic and pushes it through a collector on a
// loopback listener whose clock is the simulated time of the hit being
// sent; hits go one at a time, in time order, so every hit carries its
// own time. The spool lives in a temporary directory (on /dev/shm where
// there is one: the demo needs no durability).
func runDemo(ctx context.Context, cfg *Config, site mote.Site, days, visitors int, now time.Time, log *slog.Logger, w io.Writer) (int, error) {
	host := "demo.example"
	for _, h := range site.Hostnames {
		if !strings.HasPrefix(h, "*.") {
			host = h
			break
		}
	}
	hits := demoTraffic(site.ID, host, days, visitors, now)

	tmp := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		tmp = "/dev/shm"
	}
	spoolDir, err := os.MkdirTemp(tmp, "mote-demo-spool-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(spoolDir)

	var clock atomic.Int64
	clock.Store(now.UnixNano())
	p, err := openPipeline(ctx, cfg, log, ingestOptions{
		now:            func() time.Time { return time.Unix(0, clock.Load()).UTC() },
		spoolDir:       spoolDir,
		sites:          []mote.Site{site},
		trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		batchMaxWait:   200 * time.Millisecond,
	})
	if err != nil {
		return 0, err
	}
	defer p.close()
	if err := p.waitStorage(ctx); err != nil {
		return 0, err
	}
	campaign, err := demoCampaign(ctx, p.store, site.ID, days, visitors, now)
	if err != nil {
		return 0, err
	}
	if err := p.campaigns.Refresh(ctx); err != nil {
		return 0, err
	}
	if !campaign.Wiped() {
		hits = append(hits, demoEmail(campaign, host, days, now)...)
		slices.SortStableFunc(hits, func(a, b demoHit) int { return a.at.Compare(b.at) })
	} else {
		log.Warn("demo without email: the demo campaign's window has closed", "campaign", campaign.ID)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	go p.collector.Serve(ln)

	sent, err := sendDemoHits(ctx, "http://"+ln.Addr().String(), hits, &clock, w)
	if err != nil {
		return sent, err
	}

	clock.Store(now.UnixNano()) // the shutdown happens now, not at the last hit's time
	sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.shutdown(sctx); err != nil {
		return sent, err
	}
	return int(p.collector.Counters().Accepted), ctx.Err()
}

// sendDemoHits sends hits one at a time, in order, each at its simulated
// time (clock, which the pipeline reads), with a progress bar on w.
func sendDemoHits(ctx context.Context, base string, hits []demoHit, clock *atomic.Int64, w io.Writer) (int, error) {
	// Click links answer 302 to the site: the demo must not follow them.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	pb := newProgressBar(w, len(hits), "demo hits", progressbar.OptionThrottle(100*time.Millisecond))
	sent := 0
	for i := range hits {
		if err := ctx.Err(); err != nil {
			break
		}
		h := &hits[i]
		clock.Store(h.at.UnixNano())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+h.target, nil)
		if h.target == "" {
			req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/event", strings.NewReader(h.body))
			req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		}
		req.Header.Set("User-Agent", h.ua)
		req.Header.Set("X-Forwarded-For", h.ip)
		resp, err := client.Do(req)
		if err != nil {
			return sent, fmt.Errorf("demo hit %d: %w", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 && !(h.redirect && resp.StatusCode == http.StatusFound) {
			return sent, fmt.Errorf("demo hit %d answered %d", i, resp.StatusCode)
		}
		sent++
		_ = pb.Set(sent)
	}
	_ = pb.Finish()
	return sent, nil
}

// demoCampaign returns the site's demo newsletter campaign, creating it on
// the first run: sent days/2 days ago, open for another 30 days, with
// fresh random keys like any campaign.
func demoCampaign(ctx context.Context, db storage.SQL, siteID string, days, visitors int, now time.Time) (storage.Campaign, error) {
	s := storage.NewCampaigns(db)
	id := siteID + "-newsletter"
	c, err := s.Get(ctx, id)
	if err == nil || !errors.Is(err, storage.ErrNoCampaign) {
		return c, err
	}
	c = storage.Campaign{
		SiteID: siteID, ID: id, Name: "Autumn launch newsletter (demo)",
		Created: now.Add(-time.Duration(days) * 24 * time.Hour), WindowEnd: now.Add(30 * 24 * time.Hour),
		Sends: uint64(demoRecipients(visitors)),
	}
	c.RecipientKey, c.LinkKey = newCampaignKeys()
	return c, s.Create(ctx, c)
}

// demoRecipients is how many addresses the demo newsletter went to.
func demoRecipients(visitors int) int { return min(max(visitors/5, 20), 20_000) }

// demoEmail returns the opens and clicks of the demo newsletter, sent
// halfway through the demo's days at 09:00 UTC: about half the recipients
// open it, some more than once, through Apple Mail Privacy Protection,
// Gmail's image proxy or a mail client; a fifth of those who open click
// the signed link to the pricing page.
func demoEmail(c storage.Campaign, host string, days int, now time.Time) []demoHit {
	rng := rand.New(rand.NewPCG(uint64(days), uint64(c.Sends)))
	sent := now.Add(-time.Duration(days) * 12 * time.Hour).Truncate(24 * time.Hour).Add(9 * time.Hour)
	if !sent.Before(now) {
		sent = now.Add(-time.Hour)
	}
	var key [enrich.LinkKeyLen]byte
	copy(key[:], c.LinkKey)
	target := "https://" + host + "/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=autumn-launch"
	click := "?u=" + url.QueryEscape(target) + "&s=" + enrich.SignLink(&key, target)
	var hits []demoHit
	for r := range int(c.Sends) {
		if rng.IntN(100) >= 48 {
			continue
		}
		token := "r" + strconv.Itoa(r)
		client := demoMailClients[pick(rng, len(demoMailClients), func(i int) float64 { return demoMailClients[i].weight })]
		ip := demoAddress(demoNetworks[rng.IntN(len(demoNetworks))].prefix, r)
		if client.network != "" {
			ip = demoAddress(client.network, r)
		}
		at := sent.Add(time.Duration(rng.ExpFloat64() * float64(3*time.Hour)))
		for range 1 + rng.IntN(2)*rng.IntN(2) {
			if at.Before(now) {
				hits = append(hits, demoHit{at: at, target: "/o/" + c.ID + "/" + token + ".gif", ip: ip, ua: client.ua})
			}
			at = at.Add(time.Duration(1+rng.IntN(30)) * time.Hour)
		}
		if !client.machine && rng.IntN(5) == 0 {
			at := sent.Add(time.Duration(rng.ExpFloat64() * float64(3*time.Hour))).Add(time.Minute)
			if at.Before(now) {
				hits = append(hits, demoHit{at: at, target: "/c/" + c.ID + "/" + token + click, ip: ip, ua: client.ua, redirect: true})
			}
		}
	}
	return hits
}

// demoAddress returns the n-th host address in a network given by its
// first three octets, or by an IPv6 /48 prefix ending in ':'.
func demoAddress(prefix string, n int) string {
	if strings.HasSuffix(prefix, ":") {
		return prefix + strconv.FormatInt(int64(n%60000), 16) + "::1"
	}
	return prefix + "." + strconv.Itoa(1+n%250)
}

// Demo ingredients: where visitors come from and what they use.
var (
	demoSources = []struct {
		weight   float64
		referrer string
		query    string
	}{
		{30, "", ""}, // direct
		{25, "https://www.google.com/", ""},
		{6, "https://www.bing.com/", ""},
		{4, "https://duckduckgo.com/", ""},
		{7, "https://news.ycombinator.com/", ""},
		{5, "https://www.reddit.com/r/analytics/", ""},
		{4, "https://t.co/abc", ""},
		{4, "https://chatgpt.com/", ""},
		{2, "https://www.perplexity.ai/", ""},
		{5, "https://github.com/mote-analytics/mote", ""},
		{5, "", "utm_source=newsletter&utm_medium=email&utm_campaign=autumn-launch"},
		{3, "https://www.google.com/", "utm_source=google&utm_medium=cpc&utm_campaign=brand"},
	}
	// One public address per network; the collector keeps only the
	// network's city. The host part varies per visitor.
	demoNetworks = []struct {
		weight float64
		prefix string // first three octets, or an IPv6 /48 prefix
	}{
		{20, "128.32.0"}, {10, "8.8.8"}, {12, "131.111.8"}, {12, "141.20.5"}, {8, "91.198.174"},
		{6, "1.1.1"}, {6, "208.80.154"}, {5, "2001:610:508:"}, {5, "2a00:1450:4001:"},
	}
	demoAgents = []struct {
		weight float64
		ua     string
	}{
		{30, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
		{12, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"},
		{8, "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"},
		{6, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"},
		{20, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"},
		{14, "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"},
		{4, "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"},
		{6, "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"},
	}
	// Who fetches the newsletter's pixel: Apple's and Google's proxies
	// (machine opens, kept and marked) and mail clients.
	demoMailClients = []struct {
		weight  float64
		ua      string
		network string // the proxy's own addresses (first three octets), or "" for the reader's
		machine bool
	}{
		{40, "Mozilla/5.0", "17.58.100", true}, // Apple Mail Privacy Protection
		{20, "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", "66.249.84", true},
		{15, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "", false},
		{10, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)", "", false},
		{10, "Mozilla/4.0 (compatible; ms-office; MSOffice 16)", "", false},
		{5, "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0", "", false},
	}
	demoPages = []string{"/", "/pricing", "/features", "/blog", "/blog/cookieless-analytics", "/blog/clickhouse-at-scale",
		"/docs", "/docs/install", "/docs/tracker", "/about", "/signup", "/changelog"}
)

// pick returns an index in [0, n) drawn by weight.
func pick(rng *rand.Rand, n int, weight func(int) float64) int {
	total := 0.0
	for i := range n {
		total += weight(i)
	}
	x := rng.Float64() * total
	for i := range n {
		if x -= weight(i); x < 0 {
			return i
		}
	}
	return n - 1
}

// demoTraffic returns every hit of the demo, sorted by time: each visitor
// comes one to four times, each visit at a time of day drawn from a
// diurnal curve (quiet at night, busiest mid-afternoon UTC), with one to
// six pageviews of a single-page app, sometimes a sign-up event, and an
// engagement beacon at the end.
func demoTraffic(siteID, host string, days, visitors int, now time.Time) []demoHit {
	rng := rand.New(rand.NewPCG(uint64(days), uint64(visitors)))
	start := now.Add(-time.Duration(days) * 24 * time.Hour)
	var hits []demoHit
	for v := range visitors {
		nw := demoNetworks[pick(rng, len(demoNetworks), func(i int) float64 { return demoNetworks[i].weight })]
		ip := demoAddress(nw.prefix, v)
		ua := demoAgents[pick(rng, len(demoAgents), func(i int) float64 { return demoAgents[i].weight })].ua
		// Distinct visitors need distinct (address, agent) pairs.
		ua += " demo/" + strconv.Itoa(v/250)
		for range 1 + rng.IntN(4)*rng.IntN(2) {
			day := rng.IntN(days)
			// Diurnal: a raised cosine peaking at 15:00 UTC.
			var hour float64
			for {
				hour = rng.Float64() * 24
				if rng.Float64() < 0.15+0.85*(1+math.Cos((hour-15)/24*2*math.Pi))/2 {
					break
				}
			}
			at := start.Add(time.Duration(day)*24*time.Hour + time.Duration(hour*float64(time.Hour)))
			if !at.Before(now) {
				continue
			}
			src := demoSources[pick(rng, len(demoSources), func(i int) float64 { return demoSources[i].weight })]
			pages := 1 + rng.IntN(6)
			if rng.IntN(10) < 3 {
				pages = 1 // a bounce, unless engaged long enough
			}
			page := demoPages[rng.IntN(len(demoPages))]
			last := page // the page the engagement beacon reports on: the one seen last
			for p := range pages {
				last = page
				u := "https://" + host + page
				if p == 0 && src.query != "" {
					u += "?" + src.query
				}
				w := []int{1440, 1920, 390, 412, 820}[rng.IntN(5)]
				if p == 0 {
					q := url.Values{"s": {siteID}, "u": {u}, "w": {strconv.Itoa(w)}}
					if src.referrer != "" {
						q.Set("r", src.referrer)
					}
					hits = append(hits, demoHit{at: at, target: "/p.gif?" + q.Encode(), ip: ip, ua: ua, visitor: v})
				} else {
					hits = append(hits, demoHit{at: at, body: fmt.Sprintf(`{"s":%q,"u":%q,"w":%d}`, siteID, u, w), ip: ip, ua: ua, visitor: v})
				}
				if page == "/signup" || rng.IntN(25) == 0 {
					plan := []string{"free", "pro", "team"}[rng.IntN(3)]
					hits = append(hits, demoHit{at: at.Add(5 * time.Second), ip: ip, ua: ua, visitor: v,
						body: fmt.Sprintf(`{"s":%q,"n":"Signup","u":%q,"p":{"plan":%q}}`, siteID, u, plan)})
				}
				at = at.Add(time.Duration(15+rng.IntN(150)) * time.Second)
				page = demoPages[rng.IntN(len(demoPages))]
			}
			hits = append(hits, demoHit{at: at, ip: ip, ua: ua, visitor: v,
				body: fmt.Sprintf(`{"s":%q,"n":"engagement","u":%q,"t":%d,"d":%d}`, siteID, "https://"+host+last, 1000+rng.IntN(90000), 20+rng.IntN(81))})
		}
	}
	slices.SortStableFunc(hits, func(a, b demoHit) int { return a.at.Compare(b.at) })
	return hits
}
