package storage

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Campaign is one email campaign as stored in the campaigns table (see
// migrations/0006_campaigns.sql).
//
// RecipientKey hashes recipient tokens and LinkKey signs click links; they
// are the only secrets in the database and live only until WindowEnd, when
// WipeClosed replaces them with empty ones. From then on no stored
// recipient_id can be linked to a token again, and links can no longer be
// verified.
type Campaign struct {
	SiteID    string
	ID        string
	Name      string
	Created   time.Time // UTC, whole seconds
	WindowEnd time.Time // UTC, whole seconds: tracking stops and keys are wiped
	Sends     uint64    // messages sent, as told by the sender (0 unknown)

	RecipientKey []byte // nil once wiped
	LinkKey      []byte // nil once wiped

	Updated time.Time // version of the row (ReplacingMergeTree)
}

// Wiped reports whether the campaign's keys are gone.
func (c *Campaign) Wiped() bool { return len(c.RecipientKey) == 0 && len(c.LinkKey) == 0 }

// Campaigns reads and writes the campaigns table and the events of
// campaigns, through SQL so that both engines run it unchanged. Keys are
// stored as hex text (binary strings do not survive chDB's JSON results)
// and travel only as insert data, never in query text, which servers keep
// in system.query_log.
type Campaigns struct {
	conn SQL
}

// NewCampaigns returns campaign storage on conn.
func NewCampaigns(conn SQL) *Campaigns { return &Campaigns{conn: conn} }

const insertCampaign = "INSERT INTO campaigns (site_id, campaign_id, name, created, window_end, sends, recipient_key, link_key, updated)"

// campaignColumns reads the latest version of every campaign without
// relying on merges (FINAL would do the same, at more cost on big parts).
const campaignColumns = `SELECT site_id, campaign_id, argMax(name, updated), argMax(created, updated),
	argMax(window_end, updated), argMax(sends, updated), argMax(recipient_key, updated),
	argMax(link_key, updated), max(updated) FROM campaigns`

// Create stores a new campaign. An id already taken is an error: a second
// row would silently replace the first campaign's keys.
func (s *Campaigns) Create(ctx context.Context, c Campaign) error {
	if c.ID == "" || c.SiteID == "" {
		return errors.New("create campaign: empty id or site")
	}
	if len(c.RecipientKey) == 0 || len(c.LinkKey) == 0 {
		return fmt.Errorf("create campaign %s: missing keys", c.ID)
	}
	if _, err := s.Get(ctx, c.ID); err == nil {
		return fmt.Errorf("create campaign %s: the id is taken", c.ID)
	} else if !errors.Is(err, ErrNoCampaign) {
		return fmt.Errorf("create campaign %s: %w", c.ID, err)
	}
	c.Created = c.Created.UTC().Truncate(time.Second)
	c.Updated = c.Created
	if err := s.insert(ctx, c); err != nil {
		return fmt.Errorf("create campaign %s: %w", c.ID, err)
	}
	return nil
}

func (s *Campaigns) insert(ctx context.Context, c Campaign) error {
	err := s.conn.InsertRowSQL(ctx, insertCampaign, c.SiteID, c.ID, c.Name, c.Created.UTC(),
		c.WindowEnd.UTC().Truncate(time.Second), c.Sends,
		hex.EncodeToString(c.RecipientKey), hex.EncodeToString(c.LinkKey), c.Updated.UTC().Truncate(time.Second))
	return withoutSecrets(err, string(c.RecipientKey), string(c.LinkKey))
}

// Get returns the latest version of campaign id, or ErrNoCampaign.
func (s *Campaigns) Get(ctx context.Context, id string) (Campaign, error) {
	all, err := s.query(ctx, campaignColumns+" WHERE campaign_id = "+Quote(id)+" GROUP BY site_id, campaign_id")
	if err != nil {
		return Campaign{}, fmt.Errorf("read campaign %s: %w", id, err)
	}
	if len(all) == 0 {
		return Campaign{}, fmt.Errorf("campaign %s: %w", id, ErrNoCampaign)
	}
	return all[0], nil
}

// List returns every campaign, oldest first.
func (s *Campaigns) List(ctx context.Context) ([]Campaign, error) {
	all, err := s.query(ctx, campaignColumns+" GROUP BY site_id, campaign_id ORDER BY argMax(created, updated), campaign_id")
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	return all, nil
}

func (s *Campaigns) query(ctx context.Context, q string) ([]Campaign, error) {
	rows, err := s.conn.QuerySQL(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]Campaign, len(rows.Values))
	for i := range rows.Values {
		c := &out[i]
		var rk, lk string
		if err := rows.Scan(i, &c.SiteID, &c.ID, &c.Name, &c.Created, &c.WindowEnd, &c.Sends, &rk, &lk, &c.Updated); err != nil {
			return nil, err
		}
		if c.RecipientKey, err = decodeKey(rk); err != nil {
			return nil, fmt.Errorf("campaign %s: recipient key: %w", c.ID, err)
		}
		if c.LinkKey, err = decodeKey(lk); err != nil {
			return nil, fmt.Errorf("campaign %s: link key: %w", c.ID, err)
		}
	}
	return out, nil
}

// decodeKey reads a stored hex key; "" (wiped) is nil. A corrupt value is
// reported without quoting it: it may be most of a key.
func decodeKey(h string) ([]byte, error) {
	if h == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return nil, errors.New("stored key is not hex")
	}
	return b, nil
}

// WipeClosed wipes the keys of every campaign whose window has ended by
// now: it writes a new version of the row with empty keys, then merges the
// table (OPTIMIZE ... FINAL) so that the versions holding keys leave the
// active parts. ClickHouse deletes the replaced part files after its
// old_parts_lifetime (8 minutes by default). It returns the ids wiped.
func (s *Campaigns) WipeClosed(ctx context.Context, now time.Time) ([]string, error) {
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var wiped []string
	for _, c := range all {
		if c.Wiped() || now.Before(c.WindowEnd) {
			continue
		}
		c.RecipientKey, c.LinkKey = nil, nil
		// The new version must sort after the old one even when the
		// clock says the same second (or a test's clock says earlier).
		c.Updated = maxTime(now.UTC().Truncate(time.Second), c.Updated.Add(time.Second))
		if err := s.insert(ctx, c); err != nil {
			return wiped, fmt.Errorf("wipe keys of campaign %s: %w", c.ID, err)
		}
		wiped = append(wiped, c.ID)
	}
	if len(wiped) > 0 {
		if err := s.conn.ExecSQL(ctx, "OPTIMIZE TABLE "+MutationTarget(s.conn, "campaigns")+" FINAL"); err != nil {
			return wiped, fmt.Errorf("merge wiped campaign keys: %w", err)
		}
	}
	return wiped, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Erase deletes the events of one recipient of campaign c (recipientID is
// the keyed hash of the recipient's token) and returns how many rows were
// removed. It waits until the deletion is done: ALTER TABLE ... DELETE is
// a mutation, asynchronous on every server, and mutations_sync does not
// exist on older ones, so the rows are counted until none is left.
func (s *Campaigns) Erase(ctx context.Context, c Campaign, recipientID uint64) (uint64, error) {
	if recipientID == 0 {
		return 0, errors.New("erase: recipient id 0 is the anonymous recipient")
	}
	campaignID := c.ID
	where := " WHERE site_id = " + Quote(c.SiteID) + " AND campaign_id = " + Quote(c.ID) +
		" AND recipient_id = " + strconv.FormatUint(recipientID, 10)
	var n uint64
	if err := QueryRow(ctx, s.conn, "SELECT count() FROM events"+where, &n); err != nil {
		return 0, fmt.Errorf("erase from campaign %s: %w", campaignID, err)
	}
	if n == 0 {
		return 0, nil
	}
	if err := s.conn.ExecSQL(ctx, "ALTER TABLE "+MutationTarget(s.conn, "events")+" DELETE"+where); err != nil {
		return 0, fmt.Errorf("erase from campaign %s: %w", campaignID, err)
	}
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		var left uint64
		if err := QueryRow(ctx, s.conn, "SELECT count() FROM events"+where, &left); err != nil {
			return 0, fmt.Errorf("erase from campaign %s: %w", campaignID, err)
		}
		if left == 0 {
			return n, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("erase from campaign %s: %d of %d rows still there: %w", campaignID, left, n, ctx.Err())
		case <-time.After(wait):
		}
	}
}
