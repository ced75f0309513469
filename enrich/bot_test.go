package enrich

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// botCorpus reads testdata/bots.tsv: "bot|human <TAB> user agent", with the
// verdicts written by isbot itself (the JavaScript reference).
func botCorpus(t testing.TB) map[string]bool {
	t.Helper()
	f, err := os.Open("testdata/bots.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		verdict, ua, ok := strings.Cut(line, "\t")
		if !ok || (verdict != "bot" && verdict != "human") {
			t.Fatalf("bad corpus line %q", line)
		}
		out[ua] = verdict == "bot"
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 50 {
		t.Fatalf("corpus has %d agents, want at least 50", len(out))
	}
	return out
}

func TestBotPatternsCompile(t *testing.T) {
	m, err := compileBotPatterns(botPatternsJSON)
	if err != nil {
		t.Fatal(err)
	}
	// Every pattern must have landed somewhere; most as literals.
	if len(m.prefixes) < 50 || len(m.looks) < 5 || len(m.rest) == 0 {
		t.Errorf("unexpected split: %d prefixes, %d look-around, %d regexps", len(m.prefixes), len(m.looks), len(m.rest))
	}
	guarded := 0
	for _, r := range m.rest {
		if r.need != nil {
			guarded++
		}
	}
	t.Logf("%d prefixes, %d automaton states (%d byte classes), %d look-around patterns, %d regexps (%d behind a substring)",
		len(m.prefixes), len(m.subs.out), m.subs.nclasses, len(m.looks), len(m.rest), guarded)
}

func TestIsBotMatchesIsbot(t *testing.T) {
	for ua, want := range botCorpus(t) {
		if got := isBotUncached(ua); got != want {
			t.Errorf("isBotUncached(%q) = %v, isbot says %v", ua, got, want)
		}
		if got := IsBot(ua); got != want { // twice: miss, then the cached verdict
			t.Errorf("IsBot(%q) = %v, isbot says %v", ua, got, want)
		}
		if got := IsBot(ua); got != want {
			t.Errorf("cached IsBot(%q) = %v, isbot says %v", ua, got, want)
		}
	}
}

func TestIsBotCases(t *testing.T) {
	tests := []struct {
		ua   string
		want bool
	}{
		{"", true}, // isbot says human; every real browser sends a UA
		{"curl/8.7.1", true},
		{"CURL/8.7.1", true}, // case-insensitive
		{"Wget/1.21.4", true},
		{"python-requests/2.31.0", true},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36", true},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", false},
		// Look-around: "cubot" is a phone maker, "google pixel" a phone.
		{"Mozilla/5.0 (Linux; Android 12; Cubot X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", false},
		{"Mozilla/5.0 (Linux; Android 13; Google Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", false},
		{"Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 Google", true},
	}
	for _, tt := range tests {
		if got := IsBot(tt.ua); got != tt.want {
			t.Errorf("IsBot(%q) = %v, want %v", tt.ua, got, tt.want)
		}
	}
}

func TestACMatcher(t *testing.T) {
	pats := []string{"he", "she", "his", "hers", "crawl", "a"}
	m, err := newACMatcher(pats)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"", "ushers", "xyz", "crawler", "crawxl", "banana", "hi", "h", "sh", "this"} {
		want := false
		for _, p := range pats {
			want = want || strings.Contains(in, p)
		}
		if got := m.match([]byte(in)); got != want {
			t.Errorf("match(%q) = %v, want %v", in, got, want)
		}
	}
	if _, err := newACMatcher([]string{""}); err == nil {
		t.Error("an empty pattern was accepted")
	}
}

func TestRequiredLiteral(t *testing.T) {
	for p, want := range map[string]string{
		`\bperl\b`:        "perl",
		`\b\w+/1\.0;`:     "/1.0;",
		`^ddg[_-]android`: "android",
		`(?:^|[^g])news`:  "news",
		`bots?(?:\b|_)`:   "bot",
		`^[^ ]{50,}$`:     "",
		`;\s\w+;$`:        ";",
		`^[<\(;]`:         "",
		`^\w+/[\w\(\)]*$`: "/",
	} {
		if got := string(requiredLiteral(p)); got != want {
			t.Errorf("requiredLiteral(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestCompileBotPatternsRejects(t *testing.T) {
	for _, bad := range []string{
		`not json`,
		`[]`,
		`["(?<=x)y"]`,      // positive look-behind: no translation
		`["(?<!a[bc])x"]`,  // look-behind that is not plain strings
		`["x(?!y)z"]`,      // look-ahead not at the end
		`["(?<!a)b(?=c)"]`, // positive look-ahead
		`["a[\\d-"]`,       // not a regexp at all
	} {
		if _, err := compileBotPatterns([]byte(bad)); err == nil {
			t.Errorf("compileBotPatterns(%s) accepted", bad)
		}
	}
}

func TestBotCacheHoldsCopies(t *testing.T) {
	buf := []byte("Mozilla/5.0 (compatible; ExampleTestBot/1.0)")
	ua := string(buf) // the collector passes strings that alias request memory
	if !IsBot(ua) {
		t.Fatal("not a bot")
	}
	found := false
	botCache.each(func(k string, v bool) {
		if k == ua {
			found = true
			if !v {
				t.Error("cached verdict is human")
			}
		}
	})
	if !found {
		t.Error("verdict not cached")
	}
}

func FuzzIsBot(f *testing.F) {
	for ua := range botCorpus(f) {
		f.Add(ua)
	}
	f.Add("")
	f.Add("\xff\xfe(?<!")
	f.Fuzz(func(t *testing.T, ua string) {
		got := isBotUncached(ua)
		// The verdict ignores ASCII case, like isbot's /i.
		up := []byte(ua)
		for i, c := range up {
			if c >= 'a' && c <= 'z' {
				up[i] = c - 'a' + 'A'
			}
		}
		if isBotUncached(string(up)) != got {
			t.Errorf("verdict changes with case for %q", ua)
		}
		for range 2 { // a miss, then the cached verdict
			if IsBot(ua) != got {
				t.Errorf("cached verdict differs for %q", ua)
			}
		}
	})
}

func BenchmarkIsBotUncached(b *testing.B) {
	var uas []string
	for ua := range botCorpus(b) {
		uas = append(uas, ua)
	}
	isBotUncached("warm up")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		isBotUncached(uas[i%len(uas)])
	}
}

func BenchmarkIsBotCached(b *testing.B) {
	var uas []string
	for ua := range botCorpus(b) {
		uas = append(uas, ua)
		IsBot(ua)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		IsBot(uas[i%len(uas)])
	}
}

// IsBot and its cache serve the tests only: the hit path gets the
// verdict from AgentParser, which caches whole parses.

// DefaultBotCacheSize is the number of user agents whose verdict IsBot
// remembers.
const DefaultBotCacheSize = 1 << 12

var botCache = newSlotCache[string, bool](DefaultBotCacheSize)

// IsBot reports whether ua is a crawler, a monitoring or preview agent, a
// headless or automated browser, an HTTP library or command-line client
// (curl, wget, python-requests, ...), by isbot's public pattern list. An
// empty user agent is a bot: every browser sends one.
//
// Verdicts are cached per exact user agent (a bounded slotCache), so a
// known agent costs a hash and a comparison and no allocation.
func IsBot(ua string) bool {
	if ua == "" {
		return true
	}
	h := slotHashStrings(ua)
	if v, ok := botCache.get(h, ua); ok {
		return v
	}
	v := isBotUncached(ua)
	botCache.put(h, strings.Clone(ua), v)
	return v
}
