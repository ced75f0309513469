package enrich

import (
	"strings"
	"testing"
)

// Real-world user agents (browsers' own strings as of 2024).
const (
	uaChromeWin    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaEdgeWin      = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67"
	uaFirefoxWin   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
	uaChromeWin81  = "Mozilla/5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36"
	uaSafariMac    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15"
	uaChromeMac    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaFirefoxMac   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0"
	uaChromeLinux  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaFirefoxUbu   = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
	uaChromeOS     = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaOperaWin     = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0"
	uaSafariIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
	uaChromeIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1"
	uaFxIPhone     = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15"
	uaEdgeIPhone   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/124.2478.71 Mobile/15E148 Safari/605.1.15"
	uaSafariIPad   = "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	uaChromeAndr   = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
	uaChromeTab    = "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaSamsungPhone = "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36"
	uaSamsungTab   = "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Safari/537.36"
	uaFirefoxAndr  = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0"
	uaFirefoxATab  = "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0"
	uaEdgeAndr     = "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.64"
	uaOperaAndr    = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 OPR/81.1.4292.78223"
	uaGooglebot    = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	uaHeadless     = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36"
	uaCurl         = "curl/8.7.1"
)

func TestParseAgentUA(t *testing.T) {
	tests := []struct {
		ua   string
		want Agent
	}{
		{uaChromeWin, Agent{"Chrome", "124", "Windows", "10", DeviceDesktop, false}},
		{uaEdgeWin, Agent{"Edge", "124", "Windows", "10", DeviceDesktop, false}},
		{uaFirefoxWin, Agent{"Firefox", "125", "Windows", "10", DeviceDesktop, false}},
		{uaChromeWin81, Agent{"Chrome", "109", "Windows", "8.1", DeviceDesktop, false}},
		{uaSafariMac, Agent{"Safari", "17", "macOS", "10.15", DeviceDesktop, false}},
		{uaChromeMac, Agent{"Chrome", "124", "macOS", "10.15", DeviceDesktop, false}},
		{uaFirefoxMac, Agent{"Firefox", "125", "macOS", "14", DeviceDesktop, false}},
		{uaChromeLinux, Agent{"Chrome", "124", "Linux", "", DeviceDesktop, false}},
		{uaFirefoxUbu, Agent{"Firefox", "125", "Linux", "", DeviceDesktop, false}},
		{uaChromeOS, Agent{"Chrome", "124", "ChromeOS", "", DeviceDesktop, false}},
		{uaOperaWin, Agent{"Opera", "109", "Windows", "10", DeviceDesktop, false}},
		{uaSafariIPhone, Agent{"Safari", "17", "iOS", "17", DeviceMobile, false}},
		{uaChromeIPhone, Agent{"Chrome", "124", "iOS", "17", DeviceMobile, false}},
		{uaFxIPhone, Agent{"Firefox", "125", "iOS", "17", DeviceMobile, false}},
		{uaEdgeIPhone, Agent{"Edge", "124", "iOS", "17", DeviceMobile, false}},
		{uaSafariIPad, Agent{"Safari", "17", "iOS", "17", DeviceTablet, false}},
		{uaChromeAndr, Agent{"Chrome", "124", "Android", "10", DeviceMobile, false}},
		{uaChromeTab, Agent{"Chrome", "124", "Android", "13", DeviceTablet, false}},
		{uaSamsungPhone, Agent{"Samsung Internet", "24", "Android", "14", DeviceMobile, false}},
		{uaSamsungTab, Agent{"Samsung Internet", "24", "Android", "13", DeviceTablet, false}},
		{uaFirefoxAndr, Agent{"Firefox", "125", "Android", "14", DeviceMobile, false}},
		{uaFirefoxATab, Agent{"Firefox", "125", "Android", "14", DeviceTablet, false}},
		{uaEdgeAndr, Agent{"Edge", "124", "Android", "14", DeviceMobile, false}},
		{uaOperaAndr, Agent{"Opera", "81", "Android", "10", DeviceMobile, false}},
		{uaGooglebot, Agent{"Other", "", "", "", DeviceDesktop, true}},
		{uaHeadless, Agent{"Headless Chrome", "124", "Linux", "", DeviceDesktop, true}},
		{uaCurl, Agent{"Other", "", "", "", DeviceDesktop, true}},
		// The probe's canary: its own product token and OS comment were
		// stored as browser ProbeCanary, os rv:1.0.
		{"Mozilla/5.0 (CanaryOS 1.0; rv:1.0) Gecko/20100101 ProbeCanary/9.9", Agent{"Other", "", "Other", "", DeviceDesktop, false}},
		{"Mozilla/5.0 (X11; FreeBSD amd64; rv:120.0) Gecko/20100101 Firefox/120.0", Agent{"Firefox", "120", "FreeBSD", "", DeviceDesktop, false}},
		{"Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko", Agent{"Internet Explorer", "11", "Windows", "7", DeviceDesktop, false}},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0", Agent{"Thunderbird", "128", "Linux", "", DeviceDesktop, false}},
		{"", Agent{"", "", "", "", DeviceDesktop, true}},
	}
	for _, tt := range tests {
		if got := ParseAgent(tt.ua, ClientHints{}); got != tt.want {
			t.Errorf("ParseAgent(%q)\n got  %+v\n want %+v", tt.ua, got, tt.want)
		}
	}
}

func TestParseAgentHints(t *testing.T) {
	const chrome = `"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"`
	tests := []struct {
		name string
		ua   string
		ch   ClientHints
		want Agent
	}{
		{"windows 11 told by the platform version", uaChromeWin,
			ClientHints{chrome, "?0", `"Windows"`, `"15.0.0"`},
			Agent{"Chrome", "124", "Windows", "11", DeviceDesktop, false}},
		{"windows 10", uaChromeWin,
			ClientHints{chrome, "?0", `"Windows"`, `"10.0.0"`},
			Agent{"Chrome", "124", "Windows", "10", DeviceDesktop, false}},
		{"windows 8.1", uaChromeWin81,
			ClientHints{chrome, "?0", `"Windows"`, `"0.3.0"`},
			Agent{"Chrome", "124", "Windows", "8.1", DeviceDesktop, false}},
		{"platform without version keeps the UA's", uaChromeWin,
			ClientHints{chrome, "?0", `"Windows"`, ""},
			Agent{"Chrome", "124", "Windows", "10", DeviceDesktop, false}},
		{"macOS version beyond the frozen 10_15_7", uaChromeMac,
			ClientHints{chrome, "?0", `"macOS"`, `"14.4.1"`},
			Agent{"Chrome", "124", "macOS", "14", DeviceDesktop, false}},
		{"edge brand", uaEdgeWin,
			ClientHints{`"Chromium";v="124", "Microsoft Edge";v="124", "Not-A.Brand";v="99"`, "?0", `"Windows"`, `"15.0.0"`},
			Agent{"Edge", "124", "Windows", "11", DeviceDesktop, false}},
		{"opera brand", uaOperaWin,
			ClientHints{`"Opera";v="109", "Not:A-Brand";v="8", "Chromium";v="123"`, "?0", `"Windows"`, ""},
			Agent{"Opera", "109", "Windows", "10", DeviceDesktop, false}},
		{"android tablet sends ?0", uaChromeTab,
			ClientHints{chrome, "?0", `"Android"`, `"13.0.0"`},
			Agent{"Chrome", "124", "Android", "13", DeviceTablet, false}},
		{"android phone", uaChromeAndr,
			ClientHints{chrome, "?1", `"Android"`, `"14.0.0"`},
			Agent{"Chrome", "124", "Android", "14", DeviceMobile, false}},
		{"samsung with only a Chromium brand keeps its name", uaSamsungPhone,
			ClientHints{`"Not_A Brand";v="8", "Chromium";v="120"`, "?1", `"Android"`, ""},
			Agent{"Samsung Internet", "24", "Android", "14", DeviceMobile, false}},
		{"samsung brand", uaSamsungPhone,
			ClientHints{`"Samsung Internet";v="24", "Chromium";v="117", "Not;A=Brand";v="99"`, "?1", `"Android"`, ""},
			Agent{"Samsung Internet", "24", "Android", "14", DeviceMobile, false}},
		{"chrome OS", uaChromeOS,
			ClientHints{chrome, "?0", `"Chrome OS"`, `"15633.69.0"`},
			Agent{"Chrome", "124", "ChromeOS", "", DeviceDesktop, false}},
		{"headless brand is a bot even with a normal UA", uaChromeLinux,
			ClientHints{`"HeadlessChrome";v="124", "Chromium";v="124", "Not-A.Brand";v="99"`, "?0", `"Linux"`, ""},
			Agent{"Headless Chrome", "124", "Linux", "", DeviceDesktop, true}},
		{"malformed hints are ignored", uaChromeWin,
			ClientHints{`Chromium;v=124`, "yes", `Windows`, `15`},
			Agent{"Chrome", "124", "Windows", "10", DeviceDesktop, false}},
		{"unknown platform is ignored", uaChromeLinux,
			ClientHints{chrome, "?0", `"Unknown"`, ""},
			Agent{"Chrome", "124", "Linux", "", DeviceDesktop, false}},
		{"an unknown brand is Other", uaChromeWin,
			ClientHints{`"ProbeBrand";v="9", "Chromium";v="124", "Not-A.Brand";v="99"`, "?0", `"Windows"`, ""},
			Agent{"Other", "", "Windows", "10", DeviceDesktop, false}},
		{"an unknown platform name is Other", uaChromeWin,
			ClientHints{chrome, "?0", `"CanaryOS"`, `"9.9"`},
			Agent{"Chrome", "124", "Other", "", DeviceDesktop, false}},
		{"brave and yandex brands", uaChromeWin,
			ClientHints{`"Brave";v="124", "Chromium";v="124", "Not-A.Brand";v="99"`, "?0", `"Windows"`, ""},
			Agent{"Brave", "124", "Windows", "10", DeviceDesktop, false}},
		{"hints without a UA", "",
			ClientHints{chrome, "?1", `"Android"`, `"14"`},
			Agent{"Chrome", "124", "Android", "14", DeviceMobile, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseAgent(tt.ua, tt.ch); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseAgentCleansFields(t *testing.T) {
	a := ParseAgent(uaChromeWin, ClientHints{UA: `"` + strings.Repeat("X", 100) + `";v="1\"2"`})
	if len(a.Browser) > maxAgentField {
		t.Errorf("browser %q longer than %d", a.Browser, maxAgentField)
	}
}

func TestAgentParserCache(t *testing.T) {
	p := NewAgentParser(AgentConfig{CacheSize: 64})
	buf := []byte(uaSamsungPhone)
	ua := string(buf)
	want := ParseAgent(ua, ClientHints{})
	if got := p.Parse(ua, ClientHints{}); got != want {
		t.Fatalf("miss: %+v, want %+v", got, want)
	}
	if got := p.Parse(ua, ClientHints{}); got != want {
		t.Fatalf("hit: %+v, want %+v", got, want)
	}
	// The same UA with different hints is a different entry.
	ch := ClientHints{`"Samsung Internet";v="25"`, "?1", `"Android"`, `"15"`}
	if got := p.Parse(ua, ch); got.BrowserVersion != "25" || got.OSVersion != "15" {
		t.Fatalf("hints ignored by the cache: %+v", got)
	}
	if n := p.cache.len(); n != 2 {
		t.Errorf("cache holds %d entries, want 2", n)
	}
	// Bounded: many distinct agents never grow it beyond its slots.
	for i := 0; i < 1000; i++ {
		p.Parse(uaChromeWin+strings.Repeat(" ", i), ClientHints{})
	}
	if n := p.cache.len(); n > 64 {
		t.Errorf("cache holds %d entries, more than its 64 slots", n)
	}
}

// FuzzParseAgent: whatever the User-Agent and client hints say, the
// browser and OS are "" or one of the closed families (Other included),
// and an Other has no version.
func FuzzParseAgent(f *testing.F) {
	f.Add(uaChromeWin, `"Chromium";v="124", "Google Chrome";v="124"`, `"Windows"`, `"15.0.0"`)
	f.Add("Mozilla/5.0 (CanaryOS 1.0; rv:1.0) Gecko/20100101 ProbeCanary/9.9", `"ProbeBrand";v="9"`, `"CanaryOS"`, `"1"`)
	f.Add(uaSamsungPhone, "", `"Android"`, "")
	known := func(table map[string]string, v string) bool {
		for _, f := range table {
			if f == v {
				return true
			}
		}
		return v == "" || v == OtherFamily
	}
	f.Fuzz(func(t *testing.T, ua, brands, platform, version string) {
		a := ParseAgent(ua, ClientHints{UA: brands, Platform: platform, PlatformVersion: version})
		if !known(browserFamilies, a.Browser) || !known(osFamilies, a.OS) {
			t.Fatalf("browser %q, os %q from %q %q %q", a.Browser, a.OS, ua, brands, platform)
		}
		if a.Browser == OtherFamily && a.BrowserVersion != "" || a.OS == OtherFamily && a.OSVersion != "" {
			t.Fatalf("Other with a version: %+v", a)
		}
	})
}
