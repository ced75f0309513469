package stats

import (
	"context"
	"fmt"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// CampaignReport is what a campaign did, from its stored opens and clicks.
// Machine opens (image proxies, scanners) are counted beside human-likely
// ones, never dropped. JSON names are the stats API's.
type CampaignReport struct {
	SiteID    string    `json:"site_id"`
	ID        string    `json:"campaign_id"`
	Name      string    `json:"name"`
	Sends     uint64    `json:"sends"`
	WindowEnd time.Time `json:"window_end"`
	KeysWiped bool      `json:"keys_wiped"`

	Opens          uint64 `json:"opens"`           // every open hit
	HumanOpens     uint64 `json:"human_opens"`     // opens without a machine verdict
	MachineOpens   uint64 `json:"machine_opens"`   // opens with one
	AnonymousOpens uint64 `json:"anonymous_opens"` // opens of the pixel without a token
	// UniqueOpens counts recipients (tokens) with an open or a click: a
	// click proves the message was opened even when images were blocked.
	UniqueOpens      uint64 `json:"unique_opens"`
	UniqueHumanOpens uint64 `json:"unique_human_opens"` // the same, counting only hits without a machine verdict
	Clicks           uint64 `json:"clicks"`
	UniqueClicks     uint64 `json:"unique_clicks"`

	// Rates are fractions (0.25 = 25%); 0 when the denominator is.
	OpenRate        float64 `json:"open_rate"`          // unique opens / sends
	HumanOpenRate   float64 `json:"human_open_rate"`    // unique human opens / sends
	ClickToOpenRate float64 `json:"click_to_open_rate"` // unique clicks / unique opens

	TopLinks       []LinkClicks    `json:"top_links"`
	Days           []CampaignDay   `json:"days"`
	Clients        []EmailClient   `json:"clients"`
	Countries      []CountryOpens  `json:"countries"`
	MachineReasons []MachineReason `json:"machine_reasons"`
}

// LinkClicks is one click target.
type LinkClicks struct {
	URL          string `json:"url"`
	Clicks       uint64 `json:"clicks"`
	UniqueClicks uint64 `json:"unique_clicks"`
}

// CampaignDay is one UTC day of opens and clicks.
type CampaignDay struct {
	Day          time.Time `json:"day"`
	Opens        uint64    `json:"opens"`
	MachineOpens uint64    `json:"machine_opens"`
	Clicks       uint64    `json:"clicks"`
}

// EmailClient is a browser/OS pair seen opening the message.
type EmailClient struct {
	Browser      string `json:"browser"`
	OS           string `json:"os"`
	Opens        uint64 `json:"opens"`
	MachineOpens uint64 `json:"machine_opens"`
}

// CountryOpens counts human-likely opens per country. Machine opens are
// left out: a proxy's location is the proxy's, not the reader's.
type CountryOpens struct {
	Country string `json:"country"`
	Opens   uint64 `json:"opens"`
}

// MachineReason counts opens and clicks per machine verdict.
type MachineReason struct {
	Reason string `json:"reason"`
	Hits   uint64 `json:"hits"`
}

// reportLimit caps the lists of a report.
const reportLimit = 10

// Campaign computes the report of campaign c from the events table. Every
// query uses functions ClickHouse 18.16 and 26.x both have.
func Campaign(ctx context.Context, db storage.SQL, c storage.Campaign) (*CampaignReport, error) {
	r := &CampaignReport{SiteID: c.SiteID, ID: c.ID, Name: c.Name, Sends: c.Sends, WindowEnd: c.WindowEnd, KeysWiped: c.Wiped()}
	where := " FROM events WHERE site_id = " + storage.Quote(c.SiteID) + " AND campaign_id = " + storage.Quote(c.ID)
	const open, click = "kind = 'email_open'", "kind = 'email_click'"
	err := storage.QueryRow(ctx, db, `SELECT countIf(`+open+`), countIf(`+open+` AND machine_open = 0),
		countIf(`+open+` AND recipient_id = 0),
		uniqExactIf(recipient_id, recipient_id != 0),
		uniqExactIf(recipient_id, recipient_id != 0 AND machine_open = 0),
		countIf(`+click+`), uniqExactIf(recipient_id, `+click+` AND recipient_id != 0)`+where,
		&r.Opens, &r.HumanOpens, &r.AnonymousOpens, &r.UniqueOpens, &r.UniqueHumanOpens, &r.Clicks, &r.UniqueClicks)
	if err != nil {
		return nil, fmt.Errorf("report campaign %s: %w", c.ID, err)
	}
	r.MachineOpens = r.Opens - r.HumanOpens
	r.OpenRate = fraction(r.UniqueOpens, r.Sends)
	r.HumanOpenRate = fraction(r.UniqueHumanOpens, r.Sends)
	r.ClickToOpenRate = fraction(r.UniqueClicks, r.UniqueOpens)

	lim := fmt.Sprint(reportLimit)
	lists := []struct {
		q   string
		row func(rows *storage.Rows, i int) error
	}{
		{`SELECT link_url, count() AS n, uniqExactIf(recipient_id, recipient_id != 0)` + where + ` AND ` + click +
			` GROUP BY link_url ORDER BY n DESC, link_url LIMIT ` + lim, func(rows *storage.Rows, i int) error {
			r.TopLinks = append(r.TopLinks, LinkClicks{})
			p := &r.TopLinks[len(r.TopLinks)-1]
			return rows.Scan(i, &p.URL, &p.Clicks, &p.UniqueClicks)
		}},
		{`SELECT toDate(ts) AS day, countIf(` + open + `), countIf(` + open + ` AND machine_open = 1), countIf(` + click + `)` +
			where + ` GROUP BY day ORDER BY day`, func(rows *storage.Rows, i int) error {
			r.Days = append(r.Days, CampaignDay{})
			p := &r.Days[len(r.Days)-1]
			return rows.Scan(i, &p.Day, &p.Opens, &p.MachineOpens, &p.Clicks)
		}},
		{`SELECT browser, os, countIf(machine_open = 0) AS human, countIf(machine_open = 1), count() AS n` + where + ` AND ` + open +
			` GROUP BY browser, os ORDER BY n DESC, browser, os LIMIT ` + lim, func(rows *storage.Rows, i int) error {
			r.Clients = append(r.Clients, EmailClient{})
			p := &r.Clients[len(r.Clients)-1]
			var n uint64
			return rows.Scan(i, &p.Browser, &p.OS, &p.Opens, &p.MachineOpens, &n)
		}},
		{`SELECT country, count() AS n` + where + ` AND ` + open + ` AND machine_open = 0 GROUP BY country ORDER BY n DESC, country LIMIT ` + lim,
			func(rows *storage.Rows, i int) error {
				r.Countries = append(r.Countries, CountryOpens{})
				p := &r.Countries[len(r.Countries)-1]
				return rows.Scan(i, &p.Country, &p.Opens)
			}},
		{`SELECT machine_reason, count() AS n` + where + ` AND machine_open = 1 GROUP BY machine_reason ORDER BY n DESC, machine_reason`,
			func(rows *storage.Rows, i int) error {
				r.MachineReasons = append(r.MachineReasons, MachineReason{})
				p := &r.MachineReasons[len(r.MachineReasons)-1]
				return rows.Scan(i, &p.Reason, &p.Hits)
			}},
	}
	for _, l := range lists {
		rows, err := db.QuerySQL(ctx, l.q)
		if err != nil {
			return nil, fmt.Errorf("report campaign %s: %w", c.ID, err)
		}
		for i := range rows.Values {
			if err := l.row(rows, i); err != nil {
				return nil, fmt.Errorf("report campaign %s: %w", c.ID, err)
			}
		}
	}
	return r, nil
}

func fraction(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
