package enrich

import (
	"bufio"
	_ "embed"
	"strings"
	"sync"
)

// Channels a hit is attributed to (events.channel, sessions.channel).
const (
	ChannelDirect   = "direct"
	ChannelSearch   = "search"
	ChannelSocial   = "social"
	ChannelEmail    = "email"
	ChannelAI       = "ai"
	ChannelPaid     = "paid"
	ChannelReferral = "referral"
)

// The referrer data, from maintained public lists (see data/README.md):
// Snowplow's referer-parser database, Mote's own additions (AI assistants
// and hosts newer than that database), and Matomo's referrer-spam list.
var (
	//go:embed data/referrers_snowplow.yml
	snowplowReferrers string
	//go:embed data/referrers_extra.txt
	extraReferrers string
	//go:embed data/referrer_spam_matomo.txt
	spamReferrers string
)

// source is a known referrer: its display name and channel.
type source struct {
	name, channel string
}

// referrerData is the compiled lists: host → source, host → spam, and the
// lower-cased source names (for utm_source=google → "Google").
type referrerData struct {
	hosts map[string]source
	spam  map[string]struct{}
	names map[string]string
}

var (
	refOnce sync.Once
	refData *referrerData
)

// referrers compiles the embedded lists on first use.
func referrers() *referrerData {
	refOnce.Do(func() {
		d := &referrerData{hosts: map[string]source{}, spam: map[string]struct{}{}, names: map[string]string{}}
		d.loadSnowplow(snowplowReferrers)
		d.loadExtra(extraReferrers)
		for _, line := range strings.Split(spamReferrers, "\n") {
			if h := strings.ToLower(strings.TrimSpace(line)); h != "" && !strings.HasPrefix(h, "#") {
				d.spam[h] = struct{}{}
			}
		}
		refData = d
	})
	return refData
}

// loadSnowplow reads referers.yml: a top-level medium ("search:"), then
// two-space-indented source names ("  Google:"), then their "domains:"
// lists ("      - google.com"). Only that shape is understood; parameters
// lists are skipped. The first source listing a domain keeps it.
func (d *referrerData) loadSnowplow(text string) {
	channel, name, inDomains := "", "", false
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		switch {
		case indent == 0 && strings.HasSuffix(trimmed, ":"):
			channel = snowplowChannel(strings.TrimSuffix(trimmed, ":"))
			name, inDomains = "", false
		case indent == 2 && strings.HasSuffix(trimmed, ":"):
			name, inDomains = strings.TrimSuffix(trimmed, ":"), false
			d.names[strings.ToLower(name)] = name
		case indent > 2 && strings.HasSuffix(trimmed, ":"):
			inDomains = trimmed == "domains:"
		case inDomains && strings.HasPrefix(trimmed, "- ") && name != "":
			host := strings.ToLower(strings.Trim(strings.TrimSpace(trimmed[2:]), `'"`))
			if host == "" || strings.ContainsAny(host, "/ ") {
				continue // entries with a path cannot match a host
			}
			if _, dup := d.hosts[host]; !dup {
				d.hosts[host] = source{name: name, channel: channel}
			}
		}
	}
}

// snowplowChannel maps referer-parser's media to Mote's channels; its
// "unknown" (source known, medium not) counts as a referral.
func snowplowChannel(medium string) string {
	switch medium {
	case "search":
		return ChannelSearch
	case "social":
		return ChannelSocial
	case "email":
		return ChannelEmail
	default:
		return ChannelReferral
	}
}

// loadExtra reads "channel | source | domain domain ..." lines; they
// override the Snowplow entries.
func (d *referrerData) loadExtra(text string) {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) != 3 {
			continue
		}
		channel, name := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
		d.names[strings.ToLower(name)] = name
		for _, host := range strings.Fields(parts[2]) {
			d.hosts[strings.ToLower(host)] = source{name: name, channel: channel}
		}
	}
}

// lookup finds host or its closest listed parent domain.
func (d *referrerData) lookup(host string) (source, bool) {
	for h := host; ; {
		if s, ok := d.hosts[h]; ok {
			return s, true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 || strings.IndexByte(h[i+1:], '.') < 0 {
			return source{}, false // never match a bare TLD
		}
		h = h[i+1:]
	}
}

// isSpam reports whether host or a parent domain is on the spam list.
func (d *referrerData) isSpam(host string) bool {
	for h := host; h != ""; {
		if _, ok := d.spam[h]; ok {
			return true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return false
		}
		h = h[i+1:]
	}
	return false
}

// Referral is the classified origin of a hit.
type Referral struct {
	// Host is the referrer host to store: "" for direct traffic and
	// self-referrals.
	Host string
	// Source is a display name ("Google", "ChatGPT"), else the referrer
	// host, else the utm_source value; "" for direct traffic.
	Source  string
	Channel string
	// Drop is true for referrer spam: the hit must not be stored.
	Drop bool
}

// ClassifyReferrer attributes a hit from its referrer host (as returned by
// ReferrerHost: lower-case, no port), its page host and its utm_source and
// utm_medium values:
//
//   - a referrer on the spam list → Drop;
//   - a paid utm_medium (cpc, ppc, paid, ...) → channel paid;
//   - a known referrer host → its source and channel (search, social,
//     email/webmail, ai, or referral when only the source is known);
//   - a referrer on the page's own site (same registrable domain, so
//     www.example.com → example.com counts) → treated as no referrer;
//   - no referrer: utm_medium decides (email, social, ...), utm_source
//     alone is a referral, nothing at all is direct;
//   - any other referrer → referral, with the host as source.
//
// Strings returned are constants, substrings of the arguments or names
// from the compiled lists: ClassifyReferrer does not allocate.
func ClassifyReferrer(refHost, pageHost, utmSource, utmMedium string) Referral {
	d := referrers()
	refHost = strings.TrimSuffix(refHost, ".")
	if refHost != "" && d.isSpam(refHost) {
		return Referral{Drop: true}
	}
	if refHost != "" && sameSite(refHost, pageHost) {
		refHost = ""
	}
	var r Referral
	if refHost != "" {
		r.Host = refHost
		if s, ok := d.lookup(refHost); ok {
			r.Source, r.Channel = s.name, s.channel
		} else {
			r.Source, r.Channel = refHost, ChannelReferral
		}
	}
	medium := mediumChannel(utmMedium)
	switch {
	case medium == ChannelPaid:
		r.Channel = ChannelPaid
	case r.Channel != "":
	case medium != "":
		r.Channel = medium
	case utmSource != "":
		r.Channel = ChannelReferral
	default:
		r.Channel = ChannelDirect
	}
	if r.Source == "" && utmSource != "" {
		r.Source = d.sourceName(utmSource)
	}
	return r
}

// sourceName returns the canonical name of a utm_source value that names a
// known source ("google" → "Google"), else the value itself.
func (d *referrerData) sourceName(v string) string {
	var buf [48]byte
	if len(v) > len(buf) {
		return v
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	if name, ok := d.names[string(buf[:len(v)])]; ok {
		return name
	}
	return v
}

// mediumChannel maps a utm_medium value to a channel, "" when it says
// nothing Mote uses. Matching ignores ASCII case, '-' and '_'.
func mediumChannel(m string) string {
	if m == "" || len(m) > 32 {
		return ""
	}
	var buf [32]byte
	n := 0
	for i := 0; i < len(m); i++ {
		c := m[i]
		switch {
		case c == '-' || c == '_' || c == ' ':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	switch string(buf[:n]) {
	case "cpc", "ppc", "cpm", "cpv", "cpa", "paid", "paidsearch", "paidsocial", "display", "banner", "ads", "ad", "retargeting":
		return ChannelPaid
	case "email", "mail", "newsletter":
		return ChannelEmail
	case "social", "socialnetwork", "socialmedia", "sm", "organicsocial":
		return ChannelSocial
	case "organic", "search", "organicsearch":
		return ChannelSearch
	case "ai", "chatbot", "llm":
		return ChannelAI
	case "referral", "affiliate", "partner":
		return ChannelReferral
	}
	return ""
}

// sameSite reports whether two hosts share their registrable domain
// (example.com for www.example.com and blog.example.com; example.co.uk
// for www.example.co.uk). Without a public-suffix list this is a
// heuristic: the last two labels, or three when the last is a two-letter
// country code under a short second level (co, com, org, ...). Hosts on
// shared platforms (alice.github.io, bob.github.io) therefore count as
// one site; a site there sees such referrals as direct.
func sameSite(a, b string) bool {
	b = strings.TrimSuffix(b, ".")
	if a == "" || b == "" {
		return false
	}
	return strings.EqualFold(registrable(a), registrable(b))
}

func registrable(h string) string {
	if strings.HasPrefix(h, "[") {
		return h
	}
	last := strings.LastIndexByte(h, '.')
	if last < 0 {
		return h
	}
	second := strings.LastIndexByte(h[:last], '.')
	if second < 0 {
		return h
	}
	tld, sld := h[last+1:], h[second+1:last]
	if len(tld) == 2 && len(sld) <= 3 && isCommonSLD(sld) {
		if third := strings.LastIndexByte(h[:second], '.'); third >= 0 {
			return h[third+1:]
		}
		return h
	}
	return h[second+1:]
}

func isCommonSLD(s string) bool {
	switch strings.ToLower(s) {
	case "co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "mil", "nic", "sch", "ltd", "plc", "gv", "nom":
		return true
	}
	return false
}
