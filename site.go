package mote

import (
	"strings"
	"time"
)

// ConsentMode says whether a site may measure without an explicit consent
// signal from the visitor.
type ConsentMode string

const (
	// ConsentExempt measures anonymous audience without consent, as the
	// CNIL-style exemption allows; DNT, GPC and opt-out are still honoured.
	ConsentExempt ConsentMode = "exempt"
	// ConsentRequired stores a hit only when it carries a consent signal.
	ConsentRequired ConsentMode = "required"
)

// DefaultRetention is how long raw events are kept when a site sets none:
// 25 months, so that a year-over-year comparison of a full year still works.
const DefaultRetention = 25 * 30 * 24 * time.Hour

// Site is one tracked website as configured by the operator.
type Site struct {
	ID string
	// Hostnames lists the page hosts accepted for this site. An entry
	// "*.example.com" accepts every subdomain of example.com (not the apex).
	Hostnames []string
	Consent   ConsentMode
	// Timezone is an IANA name used for period boundaries in reports;
	// empty means UTC (Zone).
	Timezone string
	// Retention is how long raw events are kept; zero means DefaultRetention.
	Retention time.Duration
	// IgnoreDNT stops DNT: 1 and Sec-GPC: 1 from suppressing hits. The zero
	// value honours both, which is the default a privacy-first tool owes
	// its visitors; an operator must opt out explicitly.
	IgnoreDNT bool
	// GeoPrecision is the most detailed location stored: "city" (the
	// default, ""), "region", "country" or "none". Never finer than city.
	GeoPrecision string
	// KAnonymity is the fewest visitors a city or region row of a report
	// may show; smaller rows are folded into "(other)". Zero means
	// DefaultKAnonymity, so that a Site built without it is protected; a
	// negative value turns the folding off.
	KAnonymity int
	// HashRouting keeps "#/route" fragments of page URLs, for single-page
	// apps that route by fragment; every other fragment is dropped.
	HashRouting bool
	// QueryKeys are query keys kept in stored page paths besides the
	// utm_* values (stored in their own columns), ref and source — e.g.
	// "q" for an on-site search page. Everything else in a query string
	// is dropped.
	QueryKeys []string
}

// DefaultKAnonymity is the k of Site.KAnonymity when a site sets none.
const DefaultKAnonymity = 5

// ReportK is the k a report of the site folds city and region rows below:
// DefaultKAnonymity when KAnonymity is zero, 0 (no folding) when it is
// negative.
func (s *Site) ReportK() int {
	switch {
	case s.KAnonymity == 0:
		return DefaultKAnonymity
	case s.KAnonymity < 0:
		return 0
	}
	return s.KAnonymity
}

// Zone is the site's time zone name: Timezone, or UTC when it is empty.
// Summaries and day counts are made in it.
func (s *Site) Zone() string {
	if s.Timezone == "" {
		return "UTC"
	}
	return s.Timezone
}

// AllowsHost reports whether a page on host belongs to the site. Matching
// is case-insensitive and ignores a trailing dot; it never allocates.
func (s *Site) AllowsHost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return false
	}
	for _, h := range s.Hostnames {
		if rest, ok := strings.CutPrefix(h, "*."); ok {
			if len(host) > len(rest)+1 && host[len(host)-len(rest)-1] == '.' &&
				strings.EqualFold(host[len(host)-len(rest):], rest) {
				return true
			}
			continue
		}
		if strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// SuppressReason says why a hit that reached a known site was not stored.
// Only the anonymous counter (site, day, reason) records that it happened.
type SuppressReason uint8

const (
	SuppressDNT       SuppressReason = 1 // Do-Not-Track: 1
	SuppressGPC       SuppressReason = 2 // Sec-GPC: 1
	SuppressNoConsent SuppressReason = 3 // consent required, none given
	SuppressBot       SuppressReason = 4 // bot, crawler or headless browser
	SuppressPrefetch  SuppressReason = 5 // Purpose/Sec-Purpose: prefetch
	SuppressOptOut    SuppressReason = 6 // the visitor's own opt-out
	SuppressCampaign  SuppressReason = 7 // unknown or closed email campaign
	SuppressSpam      SuppressReason = 8 // referrer on the referrer-spam list
)

var suppressNames = [...]string{
	SuppressDNT:       "dnt",
	SuppressGPC:       "gpc",
	SuppressNoConsent: "no_consent",
	SuppressBot:       "bot",
	SuppressPrefetch:  "prefetch",
	SuppressOptOut:    "opt_out",
	SuppressCampaign:  "campaign",
	SuppressSpam:      "referrer_spam",
}

// String returns the label stored in suppressed.reason.
func (r SuppressReason) String() string {
	if int(r) < len(suppressNames) {
		return suppressNames[r]
	}
	return ""
}
