package enginetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mote-analytics/mote/storage"
)

// testShareLinks: links are created, listed with their hashes (never a
// key: none is stored), revoked by a newer version of the row, and an
// unknown id is ErrNoShareLink.
func testShareLinks(t *testing.T, e Inspector) {
	migrate(t, e)
	s := storage.NewShareLinks(e)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := storage.ShareLink{SiteID: "shop", ID: "link-a", KeyHash: strings.Repeat("ab", 32), Label: "wall screen", Created: now}
	b := storage.ShareLink{SiteID: "blog", ID: "link-b", KeyHash: strings.Repeat("cd", 32), Created: now.Add(time.Minute)}
	for _, l := range []storage.ShareLink{a, b} {
		if err := s.Create(ctx(t), l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Create(ctx(t), storage.ShareLink{SiteID: "shop", ID: "x"}); err == nil {
		t.Error("a link without a key hash was stored")
	}
	all, err := s.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "link-a" || all[0].KeyHash != a.KeyHash || all[0].Label != "wall screen" ||
		!all[0].Created.Equal(now) || all[0].Revoked || all[1].SiteID != "blog" {
		t.Fatalf("list %+v", all)
	}
	// Revoked within the second it was made: the new version still wins.
	r, err := s.Revoke(ctx(t), "link-a", now)
	if err != nil || !r.Revoked {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	all, _ = s.List(ctx(t))
	if len(all) != 2 || !all[0].Revoked || all[1].Revoked || all[0].KeyHash != a.KeyHash {
		t.Fatalf("after revoke %+v", all)
	}
	if _, err := s.Revoke(ctx(t), "nope", now); !errors.Is(err, storage.ErrNoShareLink) {
		t.Errorf("revoke unknown: %v", err)
	}
}
