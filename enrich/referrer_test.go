package enrich

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClassifyReferrer(t *testing.T) {
	tests := []struct {
		ref, page, utmSource, utmMedium string
		want                            Referral
	}{
		{"www.google.com", "example.com", "", "", Referral{Host: "www.google.com", Source: "Google", Channel: ChannelSearch}},
		{"www.google.co.uk", "example.com", "", "", Referral{Host: "www.google.co.uk", Source: "Google", Channel: ChannelSearch}},
		{"duckduckgo.com", "example.com", "", "", Referral{Host: "duckduckgo.com", Source: "DuckDuckGo", Channel: ChannelSearch}},
		{"m.facebook.com", "example.com", "", "", Referral{Host: "m.facebook.com", Source: "Facebook", Channel: ChannelSocial}},
		{"t.co", "example.com", "", "", Referral{Host: "t.co", Source: "Twitter", Channel: ChannelSocial}},
		{"news.ycombinator.com", "example.com", "", "", Referral{Host: "news.ycombinator.com", Source: "Hacker News", Channel: ChannelSocial}},
		{"mail.google.com", "example.com", "", "", Referral{Host: "mail.google.com", Source: "Gmail", Channel: ChannelEmail}},
		{"chatgpt.com", "example.com", "", "", Referral{Host: "chatgpt.com", Source: "ChatGPT", Channel: ChannelAI}},
		{"www.perplexity.ai", "example.com", "", "", Referral{Host: "www.perplexity.ai", Source: "Perplexity", Channel: ChannelAI}},
		{"claude.ai", "example.com", "", "", Referral{Host: "claude.ai", Source: "Claude", Channel: ChannelAI}},
		{"gemini.google.com", "example.com", "", "", Referral{Host: "gemini.google.com", Source: "Gemini", Channel: ChannelAI}},
		{"copilot.microsoft.com", "example.com", "", "", Referral{Host: "copilot.microsoft.com", Source: "Copilot", Channel: ChannelAI}},
		{"www.google.com", "example.com", "google", "cpc", Referral{Host: "www.google.com", Source: "Google", Channel: ChannelPaid}},
		{"", "example.com", "google", "CPC", Referral{Source: "Google", Channel: ChannelPaid}},
		{"", "example.com", "newsletter", "email", Referral{Source: "newsletter", Channel: ChannelEmail}},
		{"", "example.com", "Facebook", "social", Referral{Source: "Facebook", Channel: ChannelSocial}},
		{"", "example.com", "partner-site", "", Referral{Source: "partner-site", Channel: ChannelReferral}},
		{"blog.friend.org", "example.com", "", "", Referral{Host: "blog.friend.org", Source: "blog.friend.org", Channel: ChannelReferral}},
		{"example.com", "example.com", "", "", Referral{Channel: ChannelDirect}},
		{"www.example.com", "example.com", "", "", Referral{Channel: ChannelDirect}},
		{"shop.example.co.uk", "www.example.co.uk", "", "", Referral{Channel: ChannelDirect}},
		{"other.co.uk", "example.co.uk", "", "", Referral{Host: "other.co.uk", Source: "other.co.uk", Channel: ChannelReferral}},
		{"", "example.com", "", "", Referral{Channel: ChannelDirect}},
		{"semalt.com", "example.com", "", "", Referral{Drop: true}},
		{"sub.darodar.com", "example.com", "x", "cpc", Referral{Drop: true}},
	}
	for _, tt := range tests {
		got := ClassifyReferrer(tt.ref, tt.page, tt.utmSource, tt.utmMedium)
		if got != tt.want {
			t.Errorf("ClassifyReferrer(%q, %q, %q, %q) = %+v, want %+v", tt.ref, tt.page, tt.utmSource, tt.utmMedium, got, tt.want)
		}
	}
}

// The embedded lists must compile into sizeable maps: a broken file or
// parser would silently classify everything as referral.
func TestReferrerData(t *testing.T) {
	d := referrers()
	if len(d.hosts) < 500 || len(d.spam) < 500 {
		t.Fatalf("compiled %d referrer hosts and %d spam hosts; the data files did not load", len(d.hosts), len(d.spam))
	}
	if _, ok := d.hosts["orange.fr/webmail"]; ok {
		t.Fatal("an entry with a path was loaded as a host")
	}
}

func BenchmarkClassifyReferrer(b *testing.B) {
	referrers()
	b.ReportAllocs()
	for b.Loop() {
		ClassifyReferrer("l.facebook.com", "www.example.com", "spring", "")
	}
}

func FuzzClassifyReferrer(f *testing.F) {
	f.Add("www.google.com", "example.com", "", "")
	f.Add("semalt.com", "example.com", "", "")
	f.Add("", "example.com", "google", "cpc")
	f.Add(".", ".", "\xff", "PAID")
	f.Add("a.b.c.d.e.f", "[::1]", strings.Repeat("x", 100), strings.Repeat("y", 40))
	valid := map[string]bool{ChannelDirect: true, ChannelSearch: true, ChannelSocial: true, ChannelEmail: true,
		ChannelAI: true, ChannelPaid: true, ChannelReferral: true}
	f.Fuzz(func(t *testing.T, ref, page, src, med string) {
		r := ClassifyReferrer(ref, page, src, med)
		if r.Drop {
			if r != (Referral{Drop: true}) {
				t.Fatalf("dropped referral carries data: %+v", r)
			}
			return
		}
		if !valid[r.Channel] {
			t.Fatalf("unknown channel %q", r.Channel)
		}
		if r.Channel == ChannelDirect && (r.Host != "" || r.Source != "") {
			t.Fatalf("direct with a source: %+v", r)
		}
		if r.Host != "" && !strings.Contains(ref, r.Host) {
			t.Fatalf("host %q not from %q", r.Host, ref)
		}
		if utf8.ValidString(ref) && utf8.ValidString(src) && !utf8.ValidString(r.Source) {
			t.Fatalf("invalid source %q", r.Source)
		}
	})
}
