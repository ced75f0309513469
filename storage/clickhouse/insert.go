package clickhouse

import (
	"context"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/storage"
)

// InsertEvents writes events as one block with every row's batch_id set to
// batchID. On servers with Features.Dedup the insert carries
// insert_deduplication_token, so a retry of the same batch that reaches the
// server twice is stored once; on older servers the Batcher relies on
// BatchRows alone.
//
// An event with an undeclared Kind or with props keys and values of
// different lengths fails the whole batch before anything is sent: both
// are programming errors upstream (the collector and the spool codec never
// produce them), and storing a guess would be worse.
func (e *Engine) InsertEvents(ctx context.Context, batchID uint64, events []mote.Event) error {
	if len(events) == 0 {
		return nil
	}
	e.insertMu.Lock()
	defer e.insertMu.Unlock()
	if e.direct != nil {
		return e.insertDirect(ctx, batchID, events)
	}
	if err := e.cols.fill(events, batchID); err != nil {
		return fmt.Errorf("insert batch %d: %w", batchID, err)
	}
	defer e.cols.release()
	if e.features.Dedup {
		ctx = ch.Context(ctx, ch.WithSettings(ch.Settings{
			"insert_deduplication_token": storage.DedupToken(batchID, len(events)),
		}))
	}
	batch, err := e.conn.PrepareBatch(ctx, e.insertSQL)
	if err != nil {
		return fmt.Errorf("insert batch %d: %w", batchID, err)
	}
	for i, col := range e.cols.columns() {
		if err := batch.Column(i).Append(col); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("insert batch %d: column %s: %w", batchID, storage.EventColumns[i], err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert batch %d (%d rows): %w", batchID, len(events), err)
	}
	return nil
}

// eventColumns holds one slice per events column, reused across inserts so
// that a steady stream of batches does not allocate the column buffers
// again. The strings are not copied: they are only read while the block is
// encoded, during InsertEvents.
type eventColumns struct {
	siteID                                 []string
	ts                                     []time.Time
	kind                                   []int8
	name, hostname, pathname               []string
	referrerHost, referrerSource, channel  []string
	utmSource, utmMedium, utmCampaign      []string
	utmTerm, utmContent                    []string
	country, region, city                  []string
	browser, browserVersion, os, osVersion []string
	device, screen                         []string
	visitorID, sessionID                   []uint64
	engagementMS                           []uint32
	scrollDepth                            []uint8
	propKeys, propValues                   [][]string
	campaignID                             []string
	recipientID                            []uint64
	machineOpen                            []uint8
	machineReason, linkURL                 []string
	batchID                                []uint64
}

// fill resets the columns and appends events to them.
func (c *eventColumns) fill(events []mote.Event, batchID uint64) error {
	return c.fillShard(events, batchID, nil, 0)
}

// fillShard resets the columns and appends the events that route sends
// to shard (route[i] is event i's shard; a nil route sends all).
func (c *eventColumns) fillShard(events []mote.Event, batchID uint64, route []int, shard int) error {
	c.reset()
	strs := c.stringColumns()
	for i := range events {
		if route != nil && route[i] != shard {
			continue
		}
		if err := c.add(i, &events[i], batchID, strs); err != nil {
			return err
		}
	}
	return nil
}

// add appends event i of a batch, after checking what the server could not
// store faithfully. strs is c.stringColumns().
func (c *eventColumns) add(i int, ev *mote.Event, batchID uint64, strs []*[]string) error {
	if !ev.Kind.Valid() {
		return fmt.Errorf("event %d: invalid kind %d", i, ev.Kind)
	}
	if len(ev.PropKeys) != len(ev.PropValues) {
		return fmt.Errorf("event %d: %d prop keys but %d values", i, len(ev.PropKeys), len(ev.PropValues))
	}
	// ev's String columns, in the order of stringColumns.
	for j, s := range [...]string{ev.SiteID, ev.Name, ev.Hostname, ev.Pathname,
		ev.ReferrerHost, ev.ReferrerSource, ev.Channel,
		ev.UTMSource, ev.UTMMedium, ev.UTMCampaign, ev.UTMTerm, ev.UTMContent,
		ev.Country, ev.Region, ev.City,
		ev.Browser, ev.BrowserVersion, ev.OS, ev.OSVersion, ev.Device, ev.Screen,
		ev.CampaignID, ev.MachineReason, ev.LinkURL,
	} {
		*strs[j] = append(*strs[j], s)
	}
	c.ts = append(c.ts, ev.TS)
	c.kind = append(c.kind, int8(ev.Kind))
	c.visitorID = append(c.visitorID, ev.VisitorID)
	c.sessionID = append(c.sessionID, ev.SessionID)
	c.engagementMS = append(c.engagementMS, ev.EngagementMS)
	c.scrollDepth = append(c.scrollDepth, ev.ScrollDepth)
	c.propKeys = append(c.propKeys, nonNil(ev.PropKeys))
	c.propValues = append(c.propValues, nonNil(ev.PropValues))
	c.recipientID = append(c.recipientID, ev.RecipientID)
	c.machineOpen = append(c.machineOpen, ev.MachineOpen)
	c.batchID = append(c.batchID, batchID)
	return nil
}

var emptyStrings = []string{}

func nonNil(s []string) []string {
	if s == nil {
		return emptyStrings
	}
	return s
}

// columns returns the slices in storage.EventColumns order.
func (c *eventColumns) columns() []any {
	return []any{
		c.siteID, c.ts, c.kind, c.name,
		c.hostname, c.pathname,
		c.referrerHost, c.referrerSource, c.channel,
		c.utmSource, c.utmMedium, c.utmCampaign, c.utmTerm, c.utmContent,
		c.country, c.region, c.city,
		c.browser, c.browserVersion, c.os, c.osVersion, c.device, c.screen,
		c.visitorID, c.sessionID,
		c.engagementMS, c.scrollDepth,
		c.propKeys, c.propValues,
		c.campaignID, c.recipientID, c.machineOpen, c.machineReason, c.linkURL,
		c.batchID,
	}
}

// stringColumns are the String columns, for add, reset and release.
func (c *eventColumns) stringColumns() []*[]string {
	return []*[]string{
		&c.siteID, &c.name, &c.hostname, &c.pathname,
		&c.referrerHost, &c.referrerSource, &c.channel,
		&c.utmSource, &c.utmMedium, &c.utmCampaign, &c.utmTerm, &c.utmContent,
		&c.country, &c.region, &c.city,
		&c.browser, &c.browserVersion, &c.os, &c.osVersion, &c.device, &c.screen,
		&c.campaignID, &c.machineReason, &c.linkURL,
	}
}

// reset empties every column, keeping capacity.
func (c *eventColumns) reset() {
	for _, p := range c.stringColumns() {
		*p = (*p)[:0]
	}
	c.ts = c.ts[:0]
	c.kind = c.kind[:0]
	c.visitorID, c.sessionID, c.recipientID, c.batchID = c.visitorID[:0], c.sessionID[:0], c.recipientID[:0], c.batchID[:0]
	c.engagementMS = c.engagementMS[:0]
	c.scrollDepth, c.machineOpen = c.scrollDepth[:0], c.machineOpen[:0]
	c.propKeys, c.propValues = c.propKeys[:0], c.propValues[:0]
}

// release drops the references to the caller's strings and prop slices
// (keeping capacity), so that the engine does not keep a batch's events
// alive until the next insert.
func (c *eventColumns) release() {
	for _, p := range c.stringColumns() {
		clear(*p)
	}
	clear(c.propKeys)
	clear(c.propValues)
	c.reset()
}
