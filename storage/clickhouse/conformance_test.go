package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/enginetest"
)

// TestConformance runs the storage.Engine suite that storage/embedded runs
// on chDB, here on the test ClickHouse server.
func TestConformance(t *testing.T) {
	srv := testenv.ClickHouse(t)
	enginetest.Run(t, func(t *testing.T) storage.Engine {
		return inspector{openEngine(t, srv, srv.NewDatabase(t))}
	})
}

// inspector gives the suite a view of the rows through the engine's pool.
type inspector struct{ *Engine }

func (i inspector) QueryUint(ctx context.Context, q string) (uint64, error) {
	var n uint64
	if err := i.conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

func (i inspector) ReadEvents(ctx context.Context, batchID uint64) ([]mote.Event, error) {
	q := fmt.Sprintf("SELECT %s FROM events WHERE batch_id = %d", strings.Join(quoted(storage.EventColumns), ", "), batchID)
	rows, err := i.conn.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	kinds := map[string]mote.Kind{}
	for k := mote.Kind(1); k.Valid(); k++ {
		kinds[k.String()] = k
	}
	var out []mote.Event
	for rows.Next() {
		var ev mote.Event
		var kind string
		err := rows.Scan(&ev.SiteID, &ev.TS, &kind, &ev.Name,
			&ev.Hostname, &ev.Pathname,
			&ev.ReferrerHost, &ev.ReferrerSource, &ev.Channel,
			&ev.UTMSource, &ev.UTMMedium, &ev.UTMCampaign, &ev.UTMTerm, &ev.UTMContent,
			&ev.Country, &ev.Region, &ev.City,
			&ev.Browser, &ev.BrowserVersion, &ev.OS, &ev.OSVersion, &ev.Device, &ev.Screen,
			&ev.VisitorID, &ev.SessionID,
			&ev.EngagementMS, &ev.ScrollDepth,
			&ev.PropKeys, &ev.PropValues,
			&ev.CampaignID, &ev.RecipientID, &ev.MachineOpen, &ev.MachineReason, &ev.LinkURL,
			&ev.BatchID)
		if err != nil {
			return nil, err
		}
		ev.Kind = kinds[kind]
		out = append(out, ev)
	}
	return out, rows.Err()
}
