package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote/internal/testenv"
)

// TestDemo fills a real ClickHouse through `mote demo` and checks that the
// traffic came through the whole ingest path: spread over the days asked
// for, enriched (countries, devices, sources), with visits in sessions and
// nothing suppressed or lost.
func TestDemo(t *testing.T) {
	srv := testenv.ClickHouse(t)
	db := srv.NewDatabase(t)
	config := writeConfig(t, fmt.Sprintf("storage:\n  engine: clickhouse\n  clickhouse:\n    dsn: %q\nsites:\n  - id: shop\n    hostnames: [shop.example]\n", srv.DSN(db)))
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"demo", "-config", config, "--site", "shop", "--days", "3", "--visitors", "300", "--quiet"},
		func(string) string { return "" }, &out, &errs); code != 0 {
		t.Fatalf("mote demo: exit %d\n%s", code, errs.String())
	}
	var stored uint64
	if _, err := fmt.Sscanf(out.String(), "stored %d demo hits", &stored); err != nil || stored < 600 {
		t.Fatalf("demo said %q", out.String())
	}
	conn := openDB(t, srv.Addr(), db)
	var rows, days, countries, devices, sources, pages, noVisitor, opens, machineOpens, clicks, recipients uint64
	var first, last time.Time
	err := conn.QueryRow(context.Background(), `SELECT count(), uniqExact(toDate(ts)), uniqExact(country), uniqExact(device),
		uniqExact(referrer_source), uniqExact(pathname), countIf(visitor_id = 0 AND campaign_id = ''),
		countIf(kind = 'email_open'), countIf(kind = 'email_open' AND machine_open = 1), countIf(kind = 'email_click'),
		uniqExactIf(recipient_id, kind = 'email_open'), min(ts), max(ts) FROM events`).
		Scan(&rows, &days, &countries, &devices, &sources, &pages, &noVisitor, &opens, &machineOpens, &clicks, &recipients, &first, &last)
	if err != nil {
		t.Fatal(err)
	}
	if rows != stored || days < 3 || countries < 4 || devices < 3 || sources < 5 || pages < 8 || noVisitor != 0 {
		t.Errorf("events: %d rows (demo said %d), %d days, %d countries, %d devices, %d sources, %d pages, %d web hits without visitor",
			rows, stored, days, countries, devices, sources, pages, noVisitor)
	}
	// The newsletter: 60 recipients (300 visitors / 5), about half open it,
	// most through a proxy, a few click.
	if opens < 15 || machineOpens == 0 || machineOpens == opens || clicks == 0 || recipients < 15 || recipients > 60 {
		t.Errorf("email: %d opens (%d by machines) from %d recipients, %d clicks", opens, machineOpens, recipients, clicks)
	}
	if time.Since(first) > 3*24*time.Hour+time.Hour || time.Since(last) < 0 {
		t.Errorf("hits from %v to %v, want the last 3 days", first, last)
	}
	var visits int64
	if err := conn.QueryRow(context.Background(), "SELECT sum(sign) FROM sessions").Scan(&visits); err != nil || visits < 300 {
		t.Errorf("%d visits in sessions (%v), want at least one per visitor", visits, err)
	}
	if strings.Contains(errs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", errs.String())
	}
}
