package enrich

import "strings"

// Browser and OS are closed classes: a stored name is one of the
// families below or Other. A name taken as it was sent (an unknown
// product token, a Sec-CH-UA brand, an OS comment) would let one rare
// client mark itself in the statistics, which is a fingerprint, and fill
// the dashboard with garbage. An unknown browser or OS also loses its
// version. A field with no information at all (no User-Agent) stays "".

// OtherFamily is the browser or OS of an agent outside the known families.
const OtherFamily = "Other"

// browserFamilies maps the lower-case names mssola/useragent reports and
// the brands browsers send in Sec-CH-UA to the stored family.
var browserFamilies = map[string]string{
	"chrome": "Chrome", "google chrome": "Chrome",
	"firefox": "Firefox", "mozilla firefox": "Firefox",
	"safari": "Safari",
	"edge":   "Edge", "microsoft edge": "Edge",
	"opera": "Opera", "opera gx": "Opera", "opera mini": "Opera",
	"samsung internet":  "Samsung Internet",
	"internet explorer": "Internet Explorer",
	"brave":             "Brave",
	"yandex":            "Yandex", "yabrowser": "Yandex",
	"vivaldi":    "Vivaldi",
	"uc browser": "UC Browser", "ucbrowser": "UC Browser",
	"chromium":   "Chromium",
	"android":    "Android", // the pre-Chrome Android browser
	"silk":       "Silk",
	"duckduckgo": "DuckDuckGo",
	"whale":      "Whale", "naver whale": "Whale",
	"thunderbird":     "Thunderbird", // email opens
	"mobile app":      "Mobile App",  // an app's web view (mssola's name)
	"headless chrome": "Headless Chrome", "headlesschrome": "Headless Chrome",
}

// osFamilies maps the lower-case OS names (from the UA and from
// Sec-CH-UA-Platform) to the stored family.
var osFamilies = map[string]string{
	"windows": "Windows", "macos": "macOS", "mac os x": "macOS", "ios": "iOS",
	"android": "Android", "linux": "Linux",
	"chromeos": "ChromeOS", "chrome os": "ChromeOS", "chromium os": "ChromeOS",
	"freebsd": "FreeBSD", "openbsd": "OpenBSD", "kaios": "KaiOS", "harmonyos": "HarmonyOS",
}

// family returns name's family in table, Other for a name outside it
// (with no version), and "" for no name.
func family(table map[string]string, name, version string) (string, string) {
	if name == "" {
		return "", ""
	}
	if f, ok := table[strings.ToLower(strings.TrimSpace(name))]; ok {
		return f, version
	}
	return OtherFamily, ""
}
