package enrich

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
)

// botPatternsJSON is isbot's pattern list (data/isbot, Unlicense); see its
// README for how to refresh it.
//
//go:embed data/isbot/patterns.json
var botPatternsJSON []byte

// The compiled pattern list, built on first use.
var (
	botsOnce  sync.Once
	botsReady *botMatcher
)

// isBotUncached reports whether ua is a crawler, a monitoring or preview
// agent, a headless or automated browser, an HTTP library or command-line
// client (curl, wget, python-requests, ...), by isbot's public pattern
// list: it runs the compiled patterns on ua. An empty user agent is a bot:
// every browser sends one. The hit path calls it through AgentParser,
// whose cache holds the whole parse.
func isBotUncached(ua string) bool {
	if ua == "" {
		return true
	}
	botsOnce.Do(func() {
		m, err := compileBotPatterns(botPatternsJSON)
		if err != nil {
			// The list is embedded and TestBotPatternsCompile compiles it:
			// this cannot happen in a tested build.
			panic(err)
		}
		botsReady = m
	})
	return botsReady.match(ua)
}

// botMatcher is isbot's list compiled for Go. One big alternation of ~200
// patterns through RE2 costs tens of microseconds per agent, and RE2 lacks
// the look-around isbot uses, so the list is split by shape:
//   - plain literals anchored at the start: a prefix check each;
//   - plain literals anywhere (most of the list): one Aho–Corasick
//     automaton, a single pass over the agent;
//   - patterns with look-behind / look-ahead: a Go regexp for the core and
//     the look-around checked by hand around every core match;
//   - the remaining regular expressions: each a Go regexp, run only when
//     the plain substring it requires (if any) is present.
//
// Matching is on an ASCII-lowercased copy; isbot's patterns are lower case
// and case-insensitive.
type botMatcher struct {
	prefixes [][]byte
	subs     *acMatcher
	looks    []botLook
	rest     []botRegexp
}

// botRegexp is one of the remaining regular expressions with a substring
// every match contains: RE2 costs ~2 µs per pattern on a 130-byte agent,
// a substring search ~20 ns, so the regexp runs only when the substring is
// there.
type botRegexp struct {
	re   *regexp.Regexp
	need []byte // nil when the pattern has no required substring
}

func (r *botRegexp) match(b []byte) bool {
	return (r.need == nil || bytes.Contains(b, r.need)) && r.re.Match(b)
}

// botLook is notBefore-core-notAfter: a match of core counts unless the
// text before it ends with one of notBefore or the text after it starts with
// one of notAfter (JavaScript's (?<!a|b) and (?!c|d)).
type botLook struct {
	core      botRegexp
	notBefore []string
	notAfter  []string
}

func compileBotPatterns(data []byte) (*botMatcher, error) {
	var pats []string
	if err := json.Unmarshal(data, &pats); err != nil {
		return nil, fmt.Errorf("read bot patterns: %w", err)
	}
	if len(pats) == 0 {
		return nil, fmt.Errorf("read bot patterns: empty list")
	}
	m := &botMatcher{}
	var subs []string
	for _, p := range pats {
		p = strings.ToLower(p)
		if lit, ok := botLiteral(strings.TrimPrefix(p, "^")); ok && lit != "" {
			if strings.HasPrefix(p, "^") {
				m.prefixes = append(m.prefixes, []byte(lit))
			} else {
				subs = append(subs, lit)
			}
			continue
		}
		if strings.Contains(p, "(?<") || strings.Contains(p, "(?=") || strings.Contains(p, "(?!") {
			lp, err := compileBotLook(p)
			if err != nil {
				return nil, fmt.Errorf("bot pattern %q: %w", p, err)
			}
			m.looks = append(m.looks, lp)
			continue
		}
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("bot pattern %q: %w", p, err)
		}
		m.rest = append(m.rest, botRegexp{re: re, need: requiredLiteral(p)})
	}
	ac, err := newACMatcher(subs)
	if err != nil {
		return nil, err
	}
	m.subs = ac
	return m, nil
}

// botLiteral returns the text p matches when p is a plain string
// (only backslash-escaped punctuation), lower case.
func botLiteral(p string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			if i+1 == len(p) {
				return "", false
			}
			i++
			n := p[i]
			if (n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9') {
				return "", false // \b, \w, \d, \s, \1 ...
			}
			b.WriteByte(n)
		case strings.IndexByte(`.[](){}?*+|^$`, c) >= 0:
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// compileBotLook translates "(?<!a|b)core(?!c|d)" (either side optional, the
// look-ahead alternatives optionally wrapped in "(?:...)"); any other
// look-around is an error, so a refreshed list with a new shape fails the
// tests instead of matching wrongly.
func compileBotLook(p string) (botLook, error) {
	var lp botLook
	core := p
	if strings.HasPrefix(core, "(?<!") {
		end := strings.IndexByte(core, ')')
		if end < 0 {
			return lp, fmt.Errorf("unterminated look-behind")
		}
		alts, err := botAlternatives(core[len("(?<!"):end])
		if err != nil {
			return lp, fmt.Errorf("look-behind: %w", err)
		}
		lp.notBefore = alts
		core = core[end+1:]
	}
	if i := strings.Index(core, "(?!"); i >= 0 {
		tail := core[i+len("(?!"):]
		if !strings.HasSuffix(tail, ")") {
			return lp, fmt.Errorf("look-ahead not at the end")
		}
		inner := strings.TrimSuffix(tail, ")")
		if strings.HasPrefix(inner, "(?:") && strings.HasSuffix(inner, ")") {
			inner = inner[len("(?:") : len(inner)-1]
		}
		alts, err := botAlternatives(inner)
		if err != nil {
			return lp, fmt.Errorf("look-ahead: %w", err)
		}
		lp.notAfter = alts
		core = core[:i]
	}
	if strings.Contains(core, "(?<") || strings.Contains(core, "(?=") || strings.Contains(core, "(?!") {
		return lp, fmt.Errorf("unsupported look-around")
	}
	re, err := regexp.Compile(core)
	if err != nil {
		return lp, err
	}
	lp.core = botRegexp{re: re, need: requiredLiteral(core)}
	return lp, nil
}

// requiredLiteral returns the longest plain string that a match of the
// regular expression p must contain at top level (nil when there is none).
func requiredLiteral(p string) []byte {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	lit := func(r *syntax.Regexp) string {
		if r.Op != syntax.OpLiteral || r.Flags&syntax.FoldCase != 0 {
			return ""
		}
		return string(r.Rune)
	}
	best := lit(re)
	if re.Op == syntax.OpConcat {
		for _, sub := range re.Sub {
			if l := lit(sub); len(l) > len(best) {
				best = l
			}
		}
	}
	if best == "" {
		return nil
	}
	return []byte(best)
}

func botAlternatives(s string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(s, "|") {
		lit, ok := botLiteral(a)
		if !ok || lit == "" {
			return nil, fmt.Errorf("alternative %q is not a plain string", a)
		}
		out = append(out, lit)
	}
	return out, nil
}

// match reports whether any pattern matches ua.
func (m *botMatcher) match(ua string) bool {
	b := botLower(ua)
	for _, p := range m.prefixes {
		if bytes.HasPrefix(b, p) {
			return true
		}
	}
	if m.subs.match(b) {
		return true
	}
	for i := range m.looks {
		if m.looks[i].match(b) {
			return true
		}
	}
	for i := range m.rest {
		if m.rest[i].match(b) {
			return true
		}
	}
	return false
}

// match tries every non-overlapping core match (the cores in isbot's list
// cannot overlap themselves, so none is missed) against the look-arounds.
func (lp *botLook) match(b []byte) bool {
	if lp.core.need != nil && !bytes.Contains(b, lp.core.need) {
		return false
	}
	for _, loc := range lp.core.re.FindAllIndex(b, -1) {
		if botEndsWithAny(b[:loc[0]], lp.notBefore) || botStartsWithAny(b[loc[1]:], lp.notAfter) {
			continue
		}
		return true
	}
	return false
}

func botEndsWithAny(b []byte, ss []string) bool {
	for _, s := range ss {
		if len(b) >= len(s) && string(b[len(b)-len(s):]) == s {
			return true
		}
	}
	return false
}

func botStartsWithAny(b []byte, ss []string) bool {
	for _, s := range ss {
		if len(b) >= len(s) && string(b[:len(s)]) == s {
			return true
		}
	}
	return false
}

// botLower returns a lower-case copy of s (ASCII letters only: the
// patterns are ASCII).
func botLower(s string) []byte {
	b := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return b
}
