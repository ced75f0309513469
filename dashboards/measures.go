package dashboards

import (
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/mote-analytics/mote"
)

// The "what this site measures" page: public, one per site, written from
// the site's configuration alone (no statistics), in words a visitor
// understands, so that a site can link it from its privacy policy. It
// changes when the configuration changes, so it cannot drift from what
// the collector does.

// measures is what the page says about one site.
type measures struct {
	Site        string
	Consent     bool   // hits are stored only with the visitor's consent
	HonoursDNT  bool   // Do-Not-Track and Global Privacy Control stop measuring
	Geo         string // the most precise location kept, in words ("" for none)
	Retention   string // how long raw events are kept, in words
	KAnonymity  int    // the fewest visitors a city or region row shows (0: off)
	QueryKeys   []string
	HashRouting bool
}

func siteMeasures(s mote.Site) measures {
	m := measures{Site: s.ID, Consent: s.Consent == mote.ConsentRequired, HonoursDNT: !s.IgnoreDNT,
		KAnonymity: s.ReportK(), QueryKeys: s.QueryKeys, HashRouting: s.HashRouting}
	switch s.GeoPrecision {
	case "", "city":
		m.Geo = "country, region and city"
	case "region":
		m.Geo = "country and region"
	case "country":
		m.Geo = "country"
	}
	m.Retention = retentionWords(s.Retention)
	return m
}

// retentionWords says a retention in months (or days below two months).
func retentionWords(d time.Duration) string {
	if d <= 0 {
		d = mote.DefaultRetention
	}
	days := int(d / (24 * time.Hour))
	if days < 60 {
		if days == 1 {
			return "1 day"
		}
		return strconv.Itoa(days) + " days"
	}
	return strconv.Itoa(days/30) + " months"
}

var measuresPage = template.Must(template.New("measures").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>What {{.Site}} measures</title><link rel="stylesheet" href="/ui/measures.css"></head>
<body><main class="measures">
<h1>What this site measures</h1>
<p>This site ({{.Site}}) counts its visits with Mote, a privacy-first analytics tool that runs on the site owner's own server. Nothing is shared with anyone else. This page is written from the site's settings, so it says what the tool actually does.</p>
<h2>When nothing is measured</h2>
<ul>
{{if .Consent}}<li>Only if you agreed: a visit is counted only when the site tells the tool you consented. Without your consent, nothing about your visit is stored.</li>{{end}}
{{if .HonoursDNT}}<li>If your browser sends <b>Do Not Track</b> or <b>Global Privacy Control</b>, nothing about your visit is stored.</li>{{else}}<li>This site has chosen not to honour Do Not Track and Global Privacy Control signals.</li>{{end}}
<li>Bots and page prefetches are not counted either. Only an anonymous daily count of such skipped hits is kept (for example "12 visits with Do Not Track on Monday").</li>
</ul>
<h2>What is counted</h2>
<ul>
<li>The page you viewed (its address without the part after <code>?</code>, except campaign tags such as <code>utm_source</code>{{range .QueryKeys}}, <code>{{.}}</code>{{end}}){{if .HashRouting}} and the in-app route after <code>#</code>{{end}}. E-mail addresses and long codes in an address are removed.</li>
<li>The website that linked to this one (its name only, not the full address).</li>
<li>Your browser, operating system and their versions, and whether you use a phone, tablet or computer.</li>
{{if .Geo}}<li>Where your visit came from ({{.Geo}}), looked up from a shortened internet address (the last part cut off) that is then forgotten.</li>{{else}}<li>No location at all.</li>{{end}}
<li>How long the page was visible and how far you scrolled, and actions the site chose to count (such as a sign-up).</li>
</ul>
<h2>What is never stored</h2>
<ul>
<li>Your internet (IP) address, full or shortened.</li>
<li>Your browser's full identification string (the "user agent").</li>
<li>Cookies or anything else saved in your browser: none are used.</li>
<li>Anything that recognises you tomorrow. Visits on one day are grouped by a code made with a secret key that is destroyed every day, so the same person on two days cannot be linked.</li>
</ul>
<h2>How long, and who sees it</h2>
<ul>
<li>Counted visits are kept for {{.Retention}}, then deleted.</li>
<li>The site owner sees totals only (for example "340 visitors from Germany"), never a person.{{if .KAnonymity}} Cities and regions with fewer than {{.KAnonymity}} visitors are grouped as "other".{{end}}</li>
</ul>
</main></body></html>
`))

// handleMeasures serves the page of site {site}; 404 for an unknown site.
func (a *api) handleMeasures(w http.ResponseWriter, r *http.Request) {
	s, ok := a.sites[r.PathValue("site")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = measuresPage.Execute(w, siteMeasures(s))
}
