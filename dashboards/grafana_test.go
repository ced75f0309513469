package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/clickhouse"
	"github.com/mote-analytics/mote/storage/enginetest"
)

// grafanaQuery is one SQL text of a Grafana dashboard: a panel's target
// or a template variable's query.
type grafanaQuery struct {
	dashboard, panel, sql string
	datasource            string // the panel's or variable's datasource uid
}

// grafanaQueries reads every dashboard JSON under grafana/dashboards.
func grafanaQueries(t *testing.T) []grafanaQuery {
	t.Helper()
	files, err := filepath.Glob("grafana/dashboards/*.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("dashboards: %v %v", files, err)
	}
	type ds struct {
		Type, UID string
	}
	var out []grafanaQuery
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			UID        string
			Templating struct {
				List []struct {
					Name, Query string
					Datasource  ds
				}
			}
			Panels []struct {
				Title      string
				Datasource ds
				Targets    []struct {
					RawSQL     string `json:"rawSql"`
					Datasource ds
				}
			}
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, v := range d.Templating.List {
			out = append(out, grafanaQuery{d.UID, "variable " + v.Name, v.Query, v.Datasource.UID})
		}
		for _, p := range d.Panels {
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", f, p.Title)
			}
			for _, tg := range p.Targets {
				if tg.Datasource.Type != "grafana-clickhouse-datasource" || p.Datasource.UID != tg.Datasource.UID {
					t.Errorf("%s %q: datasource %+v", f, p.Title, tg.Datasource)
				}
				out = append(out, grafanaQuery{d.UID, p.Title, tg.RawSQL, tg.Datasource.UID})
			}
		}
	}
	return out
}

var (
	timeFilter = regexp.MustCompile(`\$__timeFilter\((\w+)\)`)
	dateFilter = regexp.MustCompile(`\$__dateFilter\((\w+)\)`)
	// tablesUsed: Grafana reads only events, sessions and suppressed
	// (never salts, campaigns' keys or share links).
	tablesUsed = regexp.MustCompile(`(?i)\bFROM\s+(\w+)`)
)

// expand replaces the Grafana macros and variables the ClickHouse
// datasource would, for the range [from, to] and site.
func expand(sql string, from, to time.Time, site string) string {
	ft, tt := fmt.Sprintf("toDateTime(%d)", from.Unix()), fmt.Sprintf("toDateTime(%d)", to.Unix())
	sql = timeFilter.ReplaceAllString(sql, "$1 >= "+ft+" AND $1 <= "+tt)
	sql = dateFilter.ReplaceAllString(sql, "$1 >= toDate('"+from.UTC().Format(time.DateOnly)+"') AND $1 <= toDate('"+to.UTC().Format(time.DateOnly)+"')")
	sql = strings.NewReplacer("$__fromTime", ft, "$__toTime", tt, "${site}", site, "$site", site).Replace(sql)
	return sql
}

// TestGrafanaDashboards runs every SQL query of the Grafana dashboards,
// macros expanded for Tokyo day D, on chDB and on the ClickHouse test
// server, both holding the stats fixture and the "launch" campaign, and
// checks the stat panels against the hand-counted numbers.
func TestGrafanaDashboards(t *testing.T) {
	queries := grafanaQueries(t)
	var prov struct {
		Datasources []struct {
			UID, Type string
		}
	}
	data, err := os.ReadFile("grafana/provisioning/datasources/mote.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &prov); err != nil || len(prov.Datasources) != 1 || prov.Datasources[0].Type != "grafana-clickhouse-datasource" {
		t.Fatalf("datasource provisioning: %+v %v", prov, err)
	}
	var dprov struct{ Providers []struct{ Type string } }
	if data, err = os.ReadFile("grafana/provisioning/dashboards/mote.yaml"); err != nil || yaml.Unmarshal(data, &dprov) != nil || len(dprov.Providers) != 1 {
		t.Fatalf("dashboard provisioning: %v %s", err, data)
	}
	for _, q := range queries {
		if q.datasource != prov.Datasources[0].UID {
			t.Errorf("%s %q: datasource %q is not the provisioned %q", q.dashboard, q.panel, q.datasource, prov.Datasources[0].UID)
		}
		for _, m := range tablesUsed.FindAllStringSubmatch(q.sql, -1) {
			if tb := m[1]; tb != "events" && tb != "sessions" && tb != "suppressed" {
				t.Errorf("%s %q reads table %s", q.dashboard, q.panel, tb)
			}
		}
	}

	eng, fx := seeded(t)
	t.Run("chDB", func(t *testing.T) { runGrafana(t, eng, fx, queries) })
	t.Run("ClickHouse", func(t *testing.T) {
		srv := testenv.StartClickHouse(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		ch, err := clickhouse.Open(ctx, clickhouse.Config{DSN: srv.DSN("grafana")})
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		if err := ch.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		fx, err := enginetest.SeedStats(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		if err := seedCampaign(ctx, ch, fx); err != nil {
			t.Fatal(err)
		}
		runGrafana(t, ch, fx, queries)
	})
}

func runGrafana(t *testing.T, db storage.SQL, fx enginetest.StatsFixture, queries []grafanaQuery) {
	// Grafana's range is inclusive: Tokyo day D to its last second.
	from, to := fx.DayFrom(0), fx.DayTo(0).Add(-time.Second)
	// Stat panels, hand-counted (see enginetest.StatsFixture and
	// seedCampaign); suppressed counts UTC days D-1 and D: 3+2+1.
	want := map[string]string{
		"mote-overview/Visitors": "4", "mote-overview/Visits": "5", "mote-overview/Pageviews": "7",
		"mote-overview/Bounce rate": "40", "mote-overview/Visit duration": "86", "mote-overview/Not stored (privacy choices, bots)": "6",
		"mote-email/Opens": "3", "mote-email/Machine opens": "1", "mote-email/Clicks": "1",
		"mote-email/Unique recipients with an open or a click": "3",
	}
	rowsWanted := map[string]int{"mote-overview/Top pages": 4, "mote-overview/Countries": 3, "mote-overview/Sources": 4,
		"mote-overview/variable site": 2, "mote-email/Campaigns": 1, "mote-overview/Cities (5 visitors or more)": 0}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, q := range queries {
		name := q.dashboard + "/" + q.panel
		sql := expand(q.sql, from, to, fx.Site)
		if strings.Contains(sql, "$") {
			t.Errorf("%s: a macro or variable is left: %s", name, sql)
			continue
		}
		rows, err := db.QuerySQL(ctx, sql)
		if err != nil {
			t.Errorf("%s: %v\n%s", name, err, sql)
			continue
		}
		if w, ok := want[name]; ok {
			if len(rows.Values) != 1 || len(rows.Values[0]) != 1 || fmt.Sprint(rows.Values[0][0]) != w {
				t.Errorf("%s = %v, want %s", name, rows.Values, w)
			}
		}
		if n, ok := rowsWanted[name]; ok && len(rows.Values) != n {
			t.Errorf("%s: %d rows, want %d: %v", name, len(rows.Values), n, rows.Values)
		}
	}
}
