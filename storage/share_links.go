package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ShareLink is a read-only link to one site's dashboard (see
// migrations/0007_share_links.sql). Only the SHA-256 of its key is
// stored: the key is shown once, when the link is made.
type ShareLink struct {
	SiteID  string
	ID      string // public id, to list and revoke the link
	KeyHash string // hex SHA-256 of the key
	Label   string
	Created time.Time // UTC, whole seconds
	Revoked bool
	Updated time.Time // version of the row (ReplacingMergeTree)
}

// ShareLinks reads and writes the share_links table through SQL, so that
// both engines run it. Key hashes travel only as insert data and in
// results, never in query text.
type ShareLinks struct {
	conn SQL
}

// NewShareLinks returns share-link storage on conn.
func NewShareLinks(conn SQL) *ShareLinks { return &ShareLinks{conn: conn} }

const insertShareLink = "INSERT INTO share_links (site_id, link_id, key_hash, label, created, revoked, updated)"

// Create stores a new link.
func (s *ShareLinks) Create(ctx context.Context, l ShareLink) error {
	if l.ID == "" || l.SiteID == "" || len(l.KeyHash) != 64 {
		return errors.New("create share link: empty id or site, or no key hash")
	}
	l.Created = l.Created.UTC().Truncate(time.Second)
	l.Updated, l.Revoked = l.Created, false
	if err := s.insert(ctx, l); err != nil {
		return fmt.Errorf("create share link %s: %w", l.ID, err)
	}
	return nil
}

func (s *ShareLinks) insert(ctx context.Context, l ShareLink) error {
	var revoked uint8
	if l.Revoked {
		revoked = 1
	}
	return s.conn.InsertRowSQL(ctx, insertShareLink, l.SiteID, l.ID, l.KeyHash, l.Label, l.Created.UTC(), revoked, l.Updated.UTC().Truncate(time.Second))
}

// List returns the latest version of every link, revoked ones included,
// oldest first.
func (s *ShareLinks) List(ctx context.Context) ([]ShareLink, error) {
	rows, err := s.conn.QuerySQL(ctx, `SELECT site_id, link_id, argMax(key_hash, updated), argMax(label, updated),
	argMax(created, updated), argMax(revoked, updated), max(updated) FROM share_links
	GROUP BY site_id, link_id ORDER BY argMax(created, updated), link_id`)
	if err != nil {
		return nil, fmt.Errorf("list share links: %w", err)
	}
	out := make([]ShareLink, len(rows.Values))
	for i := range rows.Values {
		l := &out[i]
		var revoked uint8
		if err := rows.Scan(i, &l.SiteID, &l.ID, &l.KeyHash, &l.Label, &l.Created, &revoked, &l.Updated); err != nil {
			return nil, fmt.Errorf("list share links: %w", err)
		}
		l.Revoked = revoked != 0
	}
	return out, nil
}

// Revoke marks link id revoked as of now and returns it.
func (s *ShareLinks) Revoke(ctx context.Context, id string, now time.Time) (ShareLink, error) {
	all, err := s.List(ctx)
	if err != nil {
		return ShareLink{}, err
	}
	for _, l := range all {
		if l.ID != id {
			continue
		}
		if l.Revoked {
			return l, nil
		}
		l.Revoked = true
		// The new version must sort after the old one even within the
		// same second.
		l.Updated = maxTime(now.UTC().Truncate(time.Second), l.Updated.Add(time.Second))
		if err := s.insert(ctx, l); err != nil {
			return ShareLink{}, fmt.Errorf("revoke share link %s: %w", id, err)
		}
		return l, nil
	}
	return ShareLink{}, fmt.Errorf("share link %s: %w", id, ErrNoShareLink)
}
