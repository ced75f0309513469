package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/storage"
)

const eraseUsage = `usage: mote erase --campaign C --token T

Removes every stored open and click of the recipient whose token is T from
campaign C, and prints how many rows were removed. Only possible while the
campaign's keys exist (until its window closes): afterwards the stored
recipient ids can no longer be linked to any token, by anyone.
`

// eraseMain is "mote erase": a recipient's right to erasure for email.
func eraseMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mote erase", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, eraseUsage); fs.PrintDefaults() }
	campaign := fs.String("campaign", "", "campaign id")
	token := fs.String("token", "", "the recipient's token, as put in the pixel and links")
	cfg, pos, code := parseCLI(fs, args, getenv, stderr)
	if cfg == nil {
		return code
	}
	switch {
	case len(pos) != 0 || *campaign == "" || *token == "":
		fmt.Fprint(stderr, eraseUsage)
		return 2
	case !enrich.ValidToken([]byte(*token)):
		// The token is not echoed: it identifies a person.
		fmt.Fprintf(stderr, "mote erase: the token is not one Mote accepts (A-Z a-z 0-9 . _ ~ -, at most %d characters), so nothing was ever stored under it\n", enrich.MaxTokenLen)
		return 2
	}
	log := newLogger(stderr, cfg.LogLevel)
	var removed uint64
	err := withCampaigns(ctx, cfg, log, func(_ storage.SQL, s *storage.Campaigns) error {
		var err error
		removed, err = erase(ctx, s, *campaign, []byte(*token))
		return err
	})
	if err != nil {
		fmt.Fprintln(stderr, "mote erase:", err)
		return 1
	}
	fmt.Fprintf(stdout, "removed %d rows of campaign %s for that recipient\n", removed, *campaign)
	return 0
}

// errKeysWiped: the campaign's recipient key is gone.
var errKeysWiped = errors.New("wiped")

// erase hashes token under the campaign's recipient key and deletes the
// rows stored under that hash.
func erase(ctx context.Context, s *storage.Campaigns, campaignID string, token []byte) (uint64, error) {
	c, err := s.Get(ctx, campaignID)
	if err != nil {
		return 0, err
	}
	if c.Wiped() || len(c.RecipientKey) != enrich.RecipientKeyLen {
		return 0, fmt.Errorf("campaign %s closed on %s and its keys are %w: its stored recipient ids can no longer be linked to this or any token, so none can be erased by token",
			c.ID, c.WindowEnd.Format(time.RFC3339), errKeysWiped)
	}
	var key [enrich.RecipientKeyLen]byte
	copy(key[:], c.RecipientKey)
	return s.Erase(ctx, c, enrich.RecipientID(&key, token))
}
