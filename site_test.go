package mote

import "testing"

func TestSiteAllowsHost(t *testing.T) {
	s := Site{ID: "x", Hostnames: []string{"example.com", "*.shop.example"}}
	f := func(host string, want bool) {
		t.Helper()
		if got := s.AllowsHost(host); got != want {
			t.Errorf("AllowsHost(%q) = %v, want %v", host, got, want)
		}
	}
	f("example.com", true)
	f("EXAMPLE.com.", true)
	f("www.example.com", false) // not listed, no wildcard
	f("a.shop.example", true)
	f("a.b.shop.example", true)
	f("shop.example", false) // the wildcard does not cover the apex
	f("evilshop.example", false)
	f("", false)
	f(".", false)
}

func TestScreenClass(t *testing.T) {
	f := func(w int, want string) {
		t.Helper()
		if got := ScreenClass(w); got != want {
			t.Errorf("ScreenClass(%d) = %q, want %q", w, got, want)
		}
	}
	f(-1, "")
	f(0, "")
	f(375, "mobile")
	f(575, "mobile")
	f(576, "tablet")
	f(991, "tablet")
	f(992, "laptop")
	f(1439, "laptop")
	f(1440, "desktop")
	f(5120, "desktop")
}

func TestKindAndReasonLabels(t *testing.T) {
	// The labels are the Enum8 and suppressed.reason values in storage: a
	// rename here breaks stored data, so they are pinned.
	kinds := map[Kind]string{KindPageview: "pageview", KindEvent: "event", KindEngagement: "engagement", KindEmailOpen: "email_open", KindEmailClick: "email_click"}
	for k, want := range kinds {
		if k.String() != want || !k.Valid() {
			t.Errorf("Kind(%d) = %q, want %q", k, k.String(), want)
		}
	}
	if Kind(0).Valid() || Kind(6).Valid() || Kind(255).String() != "" {
		t.Error("undeclared kinds must be invalid")
	}
	if SuppressDNT.String() != "dnt" || SuppressNoConsent.String() != "no_consent" || SuppressReason(200).String() != "" {
		t.Error("suppress reason labels changed")
	}
}

func TestReportK(t *testing.T) {
	for k, want := range map[int]int{0: DefaultKAnonymity, -1: 0, 3: 3, 50: 50} {
		s := Site{KAnonymity: k}
		if got := s.ReportK(); got != want {
			t.Errorf("KAnonymity %d: ReportK %d, want %d", k, got, want)
		}
	}
}
