package enrich

import (
	"net/netip"
	"strings"
	"testing"
)

// Agents as the proxies and scanners send them (from their documentation
// and ESPs' published bot-open lists), and people's mail clients.
const (
	uaGmailProxy   = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
	uaYahooProxy   = "Mozilla/5.0 (compatible; YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html)"
	uaSafeLinks    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.246"
	uaOfficeProbe  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Microsoft Office Existence Discovery"
	uaBarracuda    = "Barracuda Sentinel (EE)"
	uaMimecast     = "Mozilla/5.0 (compatible; Mimecast URL Protect)"
	uaProofpoint   = "Mozilla/5.0 (compatible; Proofpoint/2.0)"
	uaAppleMail    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
	uaIPhoneMail   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
	uaOutlookDesk  = "Mozilla/4.0 (compatible; ms-office; MSOffice 16)"
	uaThunderbird  = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.1"
	uaChromeWebApp = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

func TestMachineOpenVerdicts(t *testing.T) {
	m := DefaultMachineOpens()
	person := netip.MustParseAddr("198.51.100.7")
	f := func(name string, ip netip.Addr, ua string, bot, prefetch bool, wantMachine bool, wantReason string) {
		t.Helper()
		machine, reason := m.Verdict(ip, ua, bot, prefetch)
		if machine != wantMachine || reason != wantReason {
			t.Errorf("%s: Verdict = %v %q, want %v %q", name, machine, reason, wantMachine, wantReason)
		}
	}
	// Apple MPP: by network, whatever the agent, and by its bare agent.
	f("apple v4 net", netip.MustParseAddr("17.58.100.4"), uaAppleMail, false, false, true, ReasonAppleMPP)
	f("apple v4 net edge", netip.MustParseAddr("17.255.255.255"), uaChromeWebApp, false, false, true, ReasonAppleMPP)
	f("apple mapped", netip.MustParseAddr("::ffff:17.1.2.3"), uaAppleMail, false, false, true, ReasonAppleMPP)
	f("apple v6 net", netip.MustParseAddr("2620:149:a0c:4000::1"), uaAppleMail, false, false, true, ReasonAppleMPP)
	f("apple bare agent", person, "Mozilla/5.0", false, false, true, ReasonAppleMPP)
	f("apple bare agent spaces", person, " Mozilla/5.0 ", false, false, true, ReasonAppleMPP)
	f("gmail", person, uaGmailProxy, false, false, true, ReasonGmailProxy)
	f("gmail lower case", person, strings.ToLower(uaGmailProxy), false, false, true, ReasonGmailProxy)
	f("yahoo", person, uaYahooProxy, false, false, true, ReasonYahooProxy)
	f("safe links", person, uaSafeLinks, false, false, true, ReasonMicrosoftScanner)
	f("office discovery", person, uaOfficeProbe, false, false, true, ReasonMicrosoftScanner)
	f("barracuda", person, uaBarracuda, false, false, true, ReasonSecurityScanner)
	f("mimecast", person, uaMimecast, false, false, true, ReasonSecurityScanner)
	f("proofpoint", person, uaProofpoint, false, false, true, ReasonSecurityScanner)
	f("prefetch", person, uaChromeWebApp, false, true, true, ReasonPrefetch)
	f("no agent", person, "", false, false, true, ReasonNoAgent)
	f("other bot", person, "curl/8.5.0", true, false, true, ReasonBot)
	// People.
	f("apple mail, own network", person, uaAppleMail, false, false, false, "")
	f("iphone mail", netip.MustParseAddr("2001:db8::1"), uaIPhoneMail, false, false, false, "")
	f("outlook desktop", person, uaOutlookDesk, false, false, false, "")
	f("thunderbird", person, uaThunderbird, false, false, false, "")
	f("webmail in chrome", person, uaChromeWebApp, false, false, false, "")
	f("just outside apple v4", netip.MustParseAddr("18.0.0.0"), uaAppleMail, false, false, false, "")
	f("just below apple v4", netip.MustParseAddr("16.255.255.255"), uaAppleMail, false, false, false, "")
	f("invalid address", netip.Addr{}, uaAppleMail, false, false, false, "")
	// A pattern past the searched prefix is not seen; real agents name
	// themselves early.
	f("pattern beyond the cap", person, strings.Repeat("x", maxVerdictAgent)+"GoogleImageProxy", false, false, false, "")
}

func TestMachineOpenEgressMerge(t *testing.T) {
	m, err := NewMachineOpens("# c\n10.0.0.0/24,XX,,,\n10.0.1.0/24\n10.0.0.128/25\n192.0.2.0/32\n255.255.255.0/24\n0.0.0.0/32\n2001:db8::/48\n2001:db8:0:1::/64\n2001:db9::/32\n", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.v4) != 4 || len(m.v6) != 2 {
		t.Fatalf("merged spans v4 %v v6 %d", m.v4, len(m.v6))
	}
	for ip, want := range map[string]bool{
		"10.0.0.0": true, "10.0.1.255": true, "10.0.2.0": false, "9.255.255.255": false,
		"192.0.2.0": true, "192.0.2.1": false, "255.255.255.255": true, "0.0.0.0": true, "0.0.0.1": false,
		"2001:db8::": true, "2001:db8:0:ffff::1": true, "2001:db8:1::": false, "2001:db7::": false, "2001:db9:ffff::1": true, "2001:dba::": false,
	} {
		if got := m.InEgress(netip.MustParseAddr(ip)); got != want {
			t.Errorf("InEgress(%s) = %v, want %v", ip, got, want)
		}
	}
}

func TestMachineOpenDataErrors(t *testing.T) {
	for name, c := range map[string][2]string{
		"bad prefix":    {"17.0.0.0/33\n", ""},
		"not a prefix":  {"apple\n", ""},
		"short rule":    {"", "apple_mpp\texact\n"},
		"unknown match": {"", "apple_mpp\tregex\tx\n"},
		"empty pattern": {"", "apple_mpp\tcontains\t \n"},
	} {
		if _, err := NewMachineOpens(c[0], c[1]); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestMachineOpenData: the embedded files parse and hold what the
// verdicts above rely on.
func TestMachineOpenData(t *testing.T) {
	m, err := NewMachineOpens(appleEgressCSV, machineAgentsTSV)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.v4) == 0 || len(m.v6) == 0 || len(m.agents) < 10 {
		t.Fatalf("embedded data: %d v4, %d v6 spans, %d agent rules", len(m.v4), len(m.v6), len(m.agents))
	}
}

func BenchmarkMachineOpenVerdict(b *testing.B) {
	m := DefaultMachineOpens()
	ip := netip.MustParseAddr("198.51.100.7")
	b.ReportAllocs()
	for b.Loop() {
		m.Verdict(ip, uaChromeWebApp, false, false)
	}
}

func FuzzMachineOpenVerdict(f *testing.F) {
	for _, ua := range []string{uaGmailProxy, uaYahooProxy, uaAppleMail, "", "Mozilla/5.0", "\xff\xfe"} {
		f.Add([]byte{17, 0, 0, 1}, ua)
		f.Add([]byte{0x26, 0x20, 0x01, 0x49, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, ua)
	}
	m := DefaultMachineOpens()
	f.Fuzz(func(t *testing.T, raw []byte, ua string) {
		ip, _ := netip.AddrFromSlice(raw)
		machine, reason := m.Verdict(ip, ua, false, false)
		if machine != (reason != "") {
			t.Fatalf("machine %v with reason %q", machine, reason)
		}
		if ip.IsValid() && ip.Unmap().Is4() && ip.Unmap().As4()[0] == 17 && reason != ReasonAppleMPP {
			t.Fatalf("%v is Apple's network, reason %q", ip, reason)
		}
	})
}
