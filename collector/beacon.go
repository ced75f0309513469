package collector

// Caps on what one hit may carry. They bound storage per row and the work
// a hostile client can cause; the values follow what Plausible and Umami
// accept, so a tracker written for them keeps working.
const (
	maxSiteLen     = 100  // a site id longer than this is unknown anyway
	maxNameLen     = 300  // custom event name
	maxURLLen      = 4096 // page URL and referrer, before minimisation
	maxProps       = 30   // further props are dropped
	maxPropKeyLen  = 300  // longer keys are cut
	maxPropValLen  = 2000 // longer values are cut
	maxEngagement  = 24 * 60 * 60 * 1000
	maxScreenWidth = 100000
	maxJSONDepth   = 32 // nesting allowed inside ignored fields
)

// beacon is one parsed hit, from the pixel's query or the tracker's JSON
// body, before the site gate and enrichment. Its strings alias the request
// or the hit's scratch.
type beacon struct {
	site    string
	name    string // "" means pageview
	hasName bool
	url     string
	ref     string
	width   int64
	// engagementMS and scroll are set by engagement beacons ("t", "d").
	engagementMS int64
	scroll       int64
	// consent is the visitor's explicit consent signal ("c"); the privacy
	// gate (gate in hit.go) requires it for sites in consent-required mode.
	consent bool
	// cleaned: control characters were removed from a string of the
	// body (see text.go).
	cleaned    bool
	propKeys   []string
	propValues []string
}

func (b *beacon) reset() {
	keys, values := b.propKeys[:0], b.propValues[:0]
	*b = beacon{propKeys: keys, propValues: values}
}
