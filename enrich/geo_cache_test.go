package enrich

// len counts the occupied slots (for tests).
func (c *slotCache[K, V]) len() int {
	n := 0
	for i := range c.slots {
		if c.slots[i].Load() != nil {
			n++
		}
	}
	return n
}

// each calls f for every cached key (for tests that check what a cache
// holds).
func (c *slotCache[K, V]) each(f func(K, V)) {
	for i := range c.slots {
		if e := c.slots[i].Load(); e != nil {
			f(e.key, e.val)
		}
	}
}
