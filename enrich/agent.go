package enrich

import (
	"strconv"
	"strings"

	"github.com/mssola/useragent"

	"github.com/mote-analytics/mote"
)

// Device classes.
const (
	DeviceDesktop = "desktop"
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
)

// maxAgentField caps a name taken from a header (an unknown browser or OS):
// anything longer is noise that would only bloat a LowCardinality column.
const maxAgentField = 32

// Agent is what Mote keeps of a user agent: the raw string is never stored
// (privacy invariant 2), only these normalised fields.
type Agent struct {
	Browser        string // a family of agent_family.go (Chrome, Firefox, ...), Other, or "" without a User-Agent
	BrowserVersion string // major version only, e.g. "124"
	OS             string // a family of agent_family.go (Windows, macOS, ...), Other, or ""
	OSVersion      string // e.g. "11", "17", "14", "10.15"; "" when not known
	Device         string // desktop, mobile or tablet
	Bot            bool   // IsBot's verdict on the user agent (or a headless brand in the hints)
}

// ClientHints holds the raw User-Agent Client Hints headers of a request.
// Empty means not sent.
type ClientHints struct {
	UA              string // Sec-CH-UA
	Mobile          string // Sec-CH-UA-Mobile
	Platform        string // Sec-CH-UA-Platform
	PlatformVersion string // Sec-CH-UA-Platform-Version (sent only when the server asks, with Accept-CH)
}

// DefaultAgentCacheSize is the number of (user agent, hints) pairs an
// AgentParser remembers.
const DefaultAgentCacheSize = 1 << 12

// AgentConfig configures an AgentParser. The zero value means the defaults.
type AgentConfig struct {
	// CacheSize is the number of distinct (user agent, hints) pairs
	// remembered (default 4096, rounded up to a power of two); see
	// slotCache for the eviction rule. Real traffic has a few hundred.
	CacheSize int
}

// AgentParser parses user agents and client hints through a bounded cache:
// a known (user agent, hints) pair costs a hash and a comparison and no
// allocation; a new one a full parse (a few microseconds). It is safe for
// concurrent use.
type AgentParser struct {
	cache *slotCache[agentKey, Agent]
}

type agentKey struct {
	ua, chUA, mobile, platform, platformVersion string
}

// NewAgentParser returns a parser with an empty cache.
func NewAgentParser(cfg AgentConfig) *AgentParser {
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultAgentCacheSize
	}
	return &AgentParser{cache: newSlotCache[agentKey, Agent](cfg.CacheSize)}
}

// Parse returns the Agent of ua and ch; see ParseAgent. The strings may
// alias request buffers: the cache keeps its own copies.
func (p *AgentParser) Parse(ua string, ch ClientHints) Agent {
	k := agentKey{ua, ch.UA, ch.Mobile, ch.Platform, ch.PlatformVersion}
	h := slotHashStrings(k.ua, k.chUA, k.mobile, k.platform, k.platformVersion)
	if a, ok := p.cache.get(h, k); ok {
		return a
	}
	a := ParseAgent(ua, ch)
	k = agentKey{strings.Clone(k.ua), strings.Clone(k.chUA), strings.Clone(k.mobile),
		strings.Clone(k.platform), strings.Clone(k.platformVersion)}
	p.cache.put(h, k, a)
	return a
}

// ParseAgent parses a User-Agent header with github.com/mssola/useragent,
// then lets the client hints win where they were sent: Sec-CH-UA gives the
// browser and its major version (a specific brand over the generic
// "Chromium"), Sec-CH-UA-Platform(-Version) the OS (and tells Windows 11
// from 10, which the frozen UA string cannot), Sec-CH-UA-Mobile the device.
// Malformed hints are ignored. Names are normalised to closed lists of
// families (agent_family.go: Chrome, Firefox, Safari, Edge, Samsung
// Internet, Opera, ...; Windows, macOS, iOS, Android, Linux, ChromeOS,
// ...), anything else is Other. iPadOS Safari presents itself as a Mac and is counted as
// desktop: no header tells them apart. The result shares no memory with ua
// or ch.
func ParseAgent(ua string, ch ClientHints) Agent {
	a := agentFromUA(ua)
	a.Bot = isBotUncached(ua)
	applyHints(&a, ch)
	a.Browser, a.BrowserVersion = family(browserFamilies, a.Browser, a.BrowserVersion)
	a.OS, a.OSVersion = family(osFamilies, a.OS, a.OSVersion)
	a.Browser = cleanAgentField(a.Browser)
	a.BrowserVersion = cleanAgentField(a.BrowserVersion)
	a.OS = cleanAgentField(a.OS)
	a.OSVersion = cleanAgentField(a.OSVersion)
	return a
}

// browserTokens are products mssola/useragent does not report (it calls
// them Safari or Chrome): the first one present in the UA wins.
var browserTokens = []struct{ token, name string }{
	{"SamsungBrowser/", "Samsung Internet"},
	{"EdgA/", "Edge"},
	{"EdgiOS/", "Edge"},
	{"Edg/", "Edge"},
	{"OPR/", "Opera"},
	{"OPT/", "Opera"},
	{"OPiOS/", "Opera"},
	{"CriOS/", "Chrome"},
	{"FxiOS/", "Firefox"},
}

func agentFromUA(s string) Agent {
	var a Agent
	if s == "" {
		a.Device = DeviceDesktop
		return a
	}
	u := useragent.New(s)
	name, ver := u.Browser()
	a.Browser, a.BrowserVersion = name, majorVersion(ver)
	for _, t := range browserTokens {
		if v, ok := uaProduct(s, t.token); ok {
			a.Browser, a.BrowserVersion = t.name, majorVersion(v)
			break
		}
	}

	full, info := u.OS(), u.OSInfo()
	platform := u.Platform()
	a.Device = DeviceDesktop
	switch {
	case platform == "iPad" || strings.Contains(full, "iPad"):
		a.OS, a.OSVersion, a.Device = "iOS", majorVersion(info.Version), DeviceTablet
	case platform == "iPhone" || platform == "iPod" || strings.Contains(full, "iPhone"):
		a.OS, a.OSVersion, a.Device = "iOS", majorVersion(info.Version), DeviceMobile
	case strings.HasPrefix(full, "Android"):
		a.OS, a.OSVersion = "Android", majorVersion(info.Version)
		// Android phones say "Mobile"; tablets do not (Firefox says "Tablet").
		if strings.Contains(s, "Mobile") && !strings.Contains(s, "Tablet") {
			a.Device = DeviceMobile
		} else {
			a.Device = DeviceTablet
		}
	case strings.HasPrefix(full, "Windows"):
		a.OS = "Windows"
		if v := strings.TrimPrefix(full, "Windows "); v != full && !strings.HasPrefix(v, "NT") && !strings.HasPrefix(v, "Phone") {
			a.OSVersion = v // 10, 8.1, 7, XP, ...
		}
		if u.Mobile() {
			a.Device = DeviceMobile
		}
	case strings.Contains(full, "Mac OS X"):
		a.OS, a.OSVersion = "macOS", macVersion(info.Version)
	case strings.HasPrefix(full, "CrOS"):
		a.OS = "ChromeOS"
	case strings.Contains(full, "Linux") || full == "Ubuntu" || full == "Fedora":
		a.OS = "Linux"
	default:
		a.OS = info.Name
		if u.Mobile() {
			a.Device = DeviceMobile
		}
	}
	return a
}

// applyHints overrides a with the client hints that parse.
func applyHints(a *Agent, ch ClientHints) {
	if ch.UA != "" {
		var buf [maxBrands]Brand
		if brands, ok := ParseBrands(ch.UA, buf[:0]); ok {
			if name, ver := pickBrand(brands); name != "" {
				if name == "Headless Chrome" {
					a.Bot = true
				}
				// "Chromium" alone says less than a product found in the
				// UA string (Samsung Internet, Yandex, ...): keep that.
				if name != "Chromium" || a.Browser == "" {
					a.Browser, a.BrowserVersion = name, majorVersion(ver)
				}
			}
		}
	}
	if plat, ok := ParseSFString(ch.Platform); ok && plat != "" && plat != "Unknown" {
		os := normPlatform(plat)
		version := ""
		if v, ok := ParseSFString(ch.PlatformVersion); ok {
			version = platformVersion(os, v)
		} else if os == a.OS {
			version = a.OSVersion // same OS: the UA's version is the best we have
		}
		a.OS, a.OSVersion = os, version
	}
	if mobile, ok := ParseSFBoolean(ch.Mobile); ok {
		switch {
		case mobile:
			a.Device = DeviceMobile
		case a.OS == "Android" || a.Device == DeviceTablet:
			a.Device = DeviceTablet // Chrome on an Android tablet sends ?0
		default:
			a.Device = DeviceDesktop
		}
	}
}

// pickBrand prefers a product brand over the engine brand "Chromium".
func pickBrand(brands []Brand) (name, version string) {
	for _, b := range brands {
		if n := normBrand(b.Name); n != "Chromium" {
			return n, b.Version
		}
	}
	for _, b := range brands {
		return normBrand(b.Name), b.Version
	}
	return "", ""
}

func normBrand(b string) string {
	switch b {
	case "Google Chrome":
		return "Chrome"
	case "Microsoft Edge":
		return "Edge"
	case "Opera", "Opera GX":
		return "Opera"
	case "HeadlessChrome":
		return "Headless Chrome"
	}
	return b // Chromium, Samsung Internet, Brave, YaBrowser, ...
}

func normPlatform(p string) string {
	switch p {
	case "Chrome OS", "Chromium OS", "ChromeOS":
		return "ChromeOS"
	case "Mac OS X", "macOS":
		return "macOS"
	}
	return p // Windows, Android, Linux, iOS, ...
}

// platformVersion turns Sec-CH-UA-Platform-Version into the OSVersion
// convention. Windows reports its UAPI level: 13 and above is Windows 11,
// 1–10 is Windows 10, 0.1/0.2/0.3 are 7/8/8.1.
func platformVersion(os, v string) string {
	switch os {
	case "Windows":
		major := majorVersion(v)
		n, err := strconv.Atoi(major)
		switch {
		case err != nil || len(major) > 4:
			return ""
		case n == 0:
			switch {
			case strings.HasPrefix(v, "0.1"):
				return "7"
			case strings.HasPrefix(v, "0.2"):
				return "8"
			case strings.HasPrefix(v, "0.3"):
				return "8.1"
			}
			return ""
		case n >= 13:
			return "11"
		}
		return "10"
	case "macOS":
		return macVersion(v)
	case "Linux", "ChromeOS":
		return "" // empty, or a build number no reader knows
	}
	return majorVersion(v)
}

// majorVersion keeps the digits before the first dot: "124.0.6367.82" →
// "124". Anything not starting with a digit gives "".
func majorVersion(v string) string {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	return v[:i]
}

// macVersion keeps the major version, or major.minor for Mac OS X 10.x
// (where the minor number is the release): "14.4.1" → "14", "10.15.7" →
// "10.15".
func macVersion(v string) string {
	v = strings.ReplaceAll(v, "_", ".")
	major := majorVersion(v)
	if major != "10" || len(v) < 4 || v[2] != '.' {
		return major
	}
	if minor := majorVersion(v[3:]); minor != "" {
		return "10." + minor
	}
	return major
}

// uaProduct finds "Token/version" in a UA, at the start or after a space,
// and returns the version.
func uaProduct(s, token string) (string, bool) {
	for i := 0; ; {
		j := strings.Index(s[i:], token)
		if j < 0 {
			return "", false
		}
		j += i
		if j == 0 || s[j-1] == ' ' {
			v := s[j+len(token):]
			if k := strings.IndexAny(v, " ;)"); k >= 0 {
				v = v[:k]
			}
			return v, true
		}
		i = j + len(token)
	}
}

// cleanAgentField makes a field safe to store: valid UTF-8 without
// control characters, at most maxAgentField bytes, and a copy (so nothing
// cached or stored aliases request memory).
func cleanAgentField(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	return strings.Clone(mote.Truncate(s, maxAgentField))
}
