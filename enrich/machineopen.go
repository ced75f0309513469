package enrich

import (
	"bufio"
	"bytes"
	"cmp"
	_ "embed"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Machine-open reasons, stored in events.machine_reason. An open or click
// with one of them is still stored, flagged machine_open = 1: reports show
// human-likely and machine opens side by side rather than hiding either.
const (
	ReasonAppleMPP         = "apple_mpp"         // Apple Mail Privacy Protection proxy (egress network or its bare agent)
	ReasonGmailProxy       = "gmail_proxy"       // Gmail's GoogleImageProxy
	ReasonYahooProxy       = "yahoo_proxy"       // Yahoo/AOL's YahooMailProxy
	ReasonMicrosoftScanner = "microsoft_scanner" // Defender / Safe Links / Office link discovery
	ReasonSecurityScanner  = "security_scanner"  // Barracuda, Mimecast, Proofpoint, ...
	ReasonPrefetch         = "prefetch"          // Purpose / Sec-Purpose: prefetch
	ReasonBot              = "bot"               // any other bot agent (isbot patterns)
	ReasonNoAgent          = "no_user_agent"     // no User-Agent at all
)

var (
	//go:embed data/apple_mpp_egress.csv
	appleEgressCSV string
	//go:embed data/machine_open_agents.tsv
	machineAgentsTSV string
)

// MachineOpens decides at request time whether an email open or click was
// made by a machine (an image proxy fetching on receipt, a security
// scanner following links) rather than by the recipient. It looks at the
// full client address, before truncation, and the User-Agent; neither is
// kept. It is immutable once built and safe for concurrent use; Verdict
// does not allocate.
type MachineOpens struct {
	v4     []span4 // sorted, merged
	v6     []span6 // sorted, merged
	agents []agentRule
	// any finds whether some "contains" pattern occurs at all in one pass
	// (Aho-Corasick); the rules are walked in order only when it does,
	// which for a person's mail client is never.
	any *acMatcher
	// cache remembers the agent verdict of the agents seen: mail traffic
	// comes from a few hundred clients and proxies.
	cache *slotCache[string, string]
}

type span4 struct{ lo, hi uint32 }

type span6 struct{ lo, hi [16]byte }

type agentRule struct {
	reason  string
	exact   bool
	pattern []byte // lower case for contains, as written for exact
}

// maxVerdictAgent is how much of a User-Agent is searched for a pattern;
// every known proxy and scanner names itself well within it.
const maxVerdictAgent = 512

var defaultMachineOpens = sync.OnceValues(func() (*MachineOpens, error) {
	return NewMachineOpens(appleEgressCSV, machineAgentsTSV)
})

// DefaultMachineOpens returns the verdicts built from the embedded data
// files (data/apple_mpp_egress.csv, data/machine_open_agents.tsv; see
// data/README.md for their sources and refresh). It panics if they do not
// parse, which TestMachineOpenData rules out before a release.
func DefaultMachineOpens() *MachineOpens {
	m, err := defaultMachineOpens()
	if err != nil {
		panic("enrich: embedded machine-open data: " + err.Error())
	}
	return m
}

// NewMachineOpens builds verdicts from an egress network list (Apple's
// egress-ip-ranges.csv format: prefix first, comma-separated, '#' comments)
// and an agent rule list (reason TAB exact|contains TAB pattern).
func NewMachineOpens(egressCSV, agentsTSV string) (*MachineOpens, error) {
	m := &MachineOpens{cache: newSlotCache[string, string](DefaultAgentCacheSize)}
	sc := bufio.NewScanner(strings.NewReader(egressCSV))
	sc.Buffer(nil, 1<<16)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		field, _, _ := strings.Cut(text, ",")
		p, err := netip.ParsePrefix(strings.TrimSpace(field))
		if err != nil {
			return nil, fmt.Errorf("egress networks line %d: %w", line, err)
		}
		m.addPrefix(p.Masked())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("egress networks: %w", err)
	}
	m.v4 = mergeSpans4(m.v4)
	m.v6 = mergeSpans6(m.v6)

	sc = bufio.NewScanner(strings.NewReader(agentsTSV))
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		parts := strings.Split(text, "\t")
		if len(parts) != 3 || parts[0] == "" || strings.TrimSpace(parts[2]) == "" {
			return nil, fmt.Errorf("agent rules line %d: want reason<TAB>exact|contains<TAB>pattern", line)
		}
		r := agentRule{reason: parts[0], pattern: []byte(strings.TrimSpace(parts[2]))}
		switch parts[1] {
		case "exact":
			r.exact = true
		case "contains":
			r.pattern = bytes.ToLower(r.pattern)
		default:
			return nil, fmt.Errorf("agent rules line %d: match %q is not exact or contains", line, parts[1])
		}
		if len(r.pattern) > maxVerdictAgent {
			return nil, fmt.Errorf("agent rules line %d: pattern longer than %d bytes", line, maxVerdictAgent)
		}
		m.agents = append(m.agents, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("agent rules: %w", err)
	}
	var pats []string
	for _, r := range m.agents {
		if !r.exact {
			pats = append(pats, string(r.pattern))
		}
	}
	var err error
	if m.any, err = newACMatcher(pats); err != nil {
		return nil, fmt.Errorf("agent rules: %w", err)
	}
	return m, nil
}

func (m *MachineOpens) addPrefix(p netip.Prefix) {
	if p.Addr().Is4() {
		a := p.Addr().As4()
		lo := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		hi := lo | uint32(uint64(1)<<(32-p.Bits())-1)
		m.v4 = append(m.v4, span4{lo, hi})
		return
	}
	lo := p.Addr().As16()
	hi := lo
	for i := p.Bits(); i < 128; i++ {
		hi[i/8] |= 0x80 >> (i % 8)
	}
	m.v6 = append(m.v6, span6{lo, hi})
}

// mergeSpans4 sorts IPv4 spans and joins overlapping or adjacent ones, so
// that a lookup is one binary search.
func mergeSpans4(s []span4) []span4 {
	slices.SortFunc(s, func(a, b span4) int { return cmp.Compare(a.lo, b.lo) })
	out := s[:0]
	for _, r := range s {
		if n := len(out); n > 0 && (r.lo <= out[n-1].hi || out[n-1].hi != ^uint32(0) && r.lo == out[n-1].hi+1) {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

func mergeSpans6(s []span6) []span6 {
	slices.SortFunc(s, func(a, b span6) int { return bytes.Compare(a.lo[:], b.lo[:]) })
	out := s[:0]
	for _, r := range s {
		if n := len(out); n > 0 && bytes.Compare(r.lo[:], out[n-1].hi[:]) <= 0 {
			if bytes.Compare(r.hi[:], out[n-1].hi[:]) > 0 {
				out[n-1].hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// InEgress reports whether ip is in one of the egress networks.
func (m *MachineOpens) InEgress(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	if ip.Is4() {
		a := ip.As4()
		v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		// The first span starting after v; the one before it may hold v.
		i, _ := slices.BinarySearchFunc(m.v4, v, func(s span4, v uint32) int {
			if s.lo <= v {
				return -1
			}
			return 1
		})
		return i > 0 && v <= m.v4[i-1].hi
	}
	v := ip.As16()
	i, _ := slices.BinarySearchFunc(m.v6, v, func(s span6, v [16]byte) int {
		if bytes.Compare(s.lo[:], v[:]) <= 0 {
			return -1
		}
		return 1
	})
	return i > 0 && bytes.Compare(v[:], m.v6[i-1].hi[:]) <= 0
}

// Verdict returns whether an email open or click from ip with User-Agent
// ua was made by a machine, and why. bot is the user-agent parser's bot
// verdict and prefetch whether the request said it was a prefetch. The
// order decides the reason when several apply: the network first (Apple's
// proxy fetches with ordinary-looking agents), then the known agents, then
// the generic signals.
func (m *MachineOpens) Verdict(ip netip.Addr, ua string, bot, prefetch bool) (machine bool, reason string) {
	if m.InEgress(ip) {
		return true, ReasonAppleMPP
	}
	if r := m.cachedAgentReason(ua); r != "" {
		return true, r
	}
	switch {
	case prefetch:
		return true, ReasonPrefetch
	case strings.TrimSpace(ua) == "":
		return true, ReasonNoAgent
	case bot:
		return true, ReasonBot
	}
	return false, ""
}

func (m *MachineOpens) cachedAgentReason(ua string) string {
	h := slotHashStrings(ua)
	if r, ok := m.cache.get(h, ua); ok {
		return r
	}
	r := m.agentReason(ua)
	m.cache.put(h, strings.Clone(ua), r)
	return r
}

// agentReason matches ua against the rules, ignoring ASCII case for
// "contains" rules, on a lower-cased copy in a stack buffer.
func (m *MachineOpens) agentReason(ua string) string {
	trimmed := strings.TrimSpace(ua)
	var buf [maxVerdictAgent]byte
	n := copy(buf[:], ua)
	low := buf[:n]
	for i, c := range low {
		if 'A' <= c && c <= 'Z' {
			low[i] = c + 'a' - 'A'
		}
	}
	found := m.any.match(low)
	for _, r := range m.agents {
		if r.exact {
			if trimmed == string(r.pattern) {
				return r.reason
			}
			continue
		}
		if found && bytes.Contains(low, r.pattern) {
			return r.reason
		}
	}
	return ""
}
