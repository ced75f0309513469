package enrich

import "fmt"

// acMatcher answers "does any of these strings occur in the input?" in one
// pass, whatever the number of strings (Aho–Corasick). Transitions are a
// dense table over byte classes (each byte that occurs in a pattern is a
// class, every other byte is class 0), so a step is two array loads and
// the table stays small: ~1,000 states × ~45 classes × 2 bytes for isbot.
type acMatcher struct {
	class    [256]uint8
	nclasses int
	next     []uint16 // next[state*nclasses+class]
	out      []bool   // a pattern ends at this state (or at a suffix of it)
}

func newACMatcher(pats []string) (*acMatcher, error) {
	m := &acMatcher{nclasses: 1}
	for _, p := range pats {
		for i := 0; i < len(p); i++ {
			if m.class[p[i]] == 0 {
				if m.nclasses == 256 {
					return nil, fmt.Errorf("bot patterns: too many distinct bytes")
				}
				m.class[p[i]] = uint8(m.nclasses)
				m.nclasses++
			}
		}
	}
	// The trie, with -1 for "no edge" while building.
	n := m.nclasses
	trie := make([]int32, n)
	for i := range trie {
		trie[i] = -1
	}
	out := []bool{false}
	for _, p := range pats {
		if p == "" {
			return nil, fmt.Errorf("bot patterns: empty string")
		}
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := int32(m.class[p[i]])
			if trie[s*int32(n)+c] < 0 {
				trie[s*int32(n)+c] = int32(len(out))
				out = append(out, false)
				for j := 0; j < n; j++ {
					trie = append(trie, -1)
				}
			}
			s = trie[s*int32(n)+c]
		}
		out[s] = true
	}
	if len(out) > 1<<16 {
		return nil, fmt.Errorf("bot patterns: %d automaton states, more than 65536", len(out))
	}
	// Breadth-first: fill failure links and turn the trie into a complete
	// transition table (a missing edge follows the failure link's edge).
	fail := make([]int32, len(out))
	queue := make([]int32, 0, len(out))
	for c := 0; c < n; c++ {
		if t := trie[c]; t < 0 {
			trie[c] = 0
		} else {
			fail[t] = 0
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		for c := 0; c < n; c++ {
			t := trie[r*int32(n)+int32(c)]
			f := trie[fail[r]*int32(n)+int32(c)]
			if t < 0 {
				trie[r*int32(n)+int32(c)] = f
				continue
			}
			fail[t] = f
			out[t] = out[t] || out[f]
			queue = append(queue, t)
		}
	}
	m.next = make([]uint16, len(trie))
	for i, t := range trie {
		m.next[i] = uint16(t)
	}
	m.out = out
	return m, nil
}

// match reports whether any pattern occurs in b.
func (m *acMatcher) match(b []byte) bool {
	s := 0
	for _, c := range b {
		s = int(m.next[s*m.nclasses+int(m.class[c])])
		if m.out[s] {
			return true
		}
	}
	return false
}
