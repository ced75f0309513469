package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/mote-analytics/mote/dashboards"
	"github.com/mote-analytics/mote/storage"
)

const shareUsage = `usage: mote share <command> [flags]

commands:
  create --site S [--label L]   make a read-only link to site S's dashboard and
                                print it (its key is shown this once)
  list [--site S]               list links (never their keys)
  revoke ID                     revoke a link (an ID that starts with '-' goes
                                after --: revoke -- ID)

The link is a path under the admin listener's URL. With the embedded engine
only one process can open the data directory: while mote serve runs, use the
admin API instead (POST/GET /api/v1/share-links, DELETE /api/v1/share-links/ID).
A link revoked here stops working in a running mote serve within 10 seconds.
`

// shareCommands are the subcommands of "mote share" and the number of
// arguments each takes.
var shareCommands = commandGroup{name: "mote share", usage: shareUsage,
	arity: map[string]int{"create": 0, "list": 0, "revoke": 1}}

// shareMain is "mote share ...".
func shareMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := shareCommands.start(args, stderr)
	if cmd == nil {
		return 2
	}
	sub := cmd.name
	site := cmd.fs.String("site", "", "site id (create; list filters by it)")
	label := cmd.fs.String("label", "", "what the link is for, e.g. who has it (create)")
	cfg, pos, code := cmd.parse(getenv)
	if cfg == nil {
		return code
	}
	if sub == "create" {
		known := false
		for _, s := range cfg.Sites {
			known = known || s.ID == *site
		}
		if !known {
			fmt.Fprintf(stderr, "mote share create: --site %q is not a configured site\n", *site)
			return 2
		}
	}
	eng, err := openEngine(ctx, cfg, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		fmt.Fprintln(stderr, "mote share:", err)
		return 1
	}
	defer eng.Close()
	if err := eng.Migrate(ctx); err != nil {
		fmt.Fprintln(stderr, "mote share:", err)
		return 1
	}
	links := storage.NewShareLinks(eng)
	switch sub {
	case "create":
		l, key := dashboards.NewShareLink(*site, *label, time.Now())
		if err = links.Create(ctx, l); err == nil {
			fmt.Fprintf(stdout, "share link %s for site %s:\n  http://%s%s\n", l.ID, l.SiteID, cfg.Admin.Listen, dashboards.SharePath(l.SiteID, key))
		}
	case "list":
		var all []storage.ShareLink
		if all, err = links.List(ctx); err == nil {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSITE\tCREATED\tSTATE\tLABEL")
			for _, l := range all {
				if *site != "" && l.SiteID != *site {
					continue
				}
				state := "active"
				if l.Revoked {
					state = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.ID, l.SiteID, l.Created.Format(time.DateTime), state, l.Label)
			}
			tw.Flush()
		}
	case "revoke":
		var l storage.ShareLink
		if l, err = links.Revoke(ctx, pos[0], time.Now()); err == nil {
			fmt.Fprintf(stdout, "share link %s of site %s revoked\n", l.ID, l.SiteID)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "mote share "+sub+":", err)
		return 1
	}
	return 0
}
