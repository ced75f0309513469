package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mote-analytics/mote/dashboards"
	"github.com/mote-analytics/mote/enrich"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/stats"
)

const campaignUsage = `usage: mote campaign <command> [flags] [arguments]

commands:
  create --site S --name N [--sends 1200] [--window 30d] [--id ID]
                         create a campaign (random keys; wiped when the window closes)
  list                   list campaigns
  show C                 show a campaign and whether its keys still exist
  pixel C [--base URL]   print the open pixel <img> with a {{TOKEN}} placeholder
  link C URL [--base URL]
                         print a signed click link for URL with a {{TOKEN}} placeholder
  report C [--json]      opens, clicks, rates, links, days, clients, countries

Configuration flags (-config, -storage, ...) go before the arguments; see
"mote serve -h". With the embedded engine only one process can open the data
directory: run these commands while mote serve is stopped.
`

// tokenPlaceholder is the merge tag the printed pixel and links carry: the
// sender's ESP replaces it with each recipient's token (an id, never an
// e-mail address: tokens are [A-Za-z0-9._~-], at most 128 bytes).
const tokenPlaceholder = "{{TOKEN}}"

// maxWindow bounds the tracking window: keys must not live for ever.
const maxWindow = 400 * 24 * time.Hour

var campaignID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// campaignCommands are the subcommands of "mote campaign" and the number
// of arguments each takes.
var campaignCommands = commandGroup{name: "mote campaign", usage: campaignUsage,
	arity: map[string]int{"create": 0, "list": 0, "show": 1, "pixel": 1, "link": 2, "report": 1}}

// cliFlags are the flags of a subcommand besides the configuration ones.
type cliFlags struct {
	site, name, id, window, base *string
	sends                        *uint64
	json                         *bool
}

// campaignMain is "mote campaign ...".
func campaignMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := campaignCommands.start(args, stderr)
	if cmd == nil {
		return 2
	}
	sub, fs := cmd.name, cmd.fs
	f := cliFlags{
		site:   fs.String("site", "", "site id the campaign belongs to (create)"),
		name:   fs.String("name", "", "campaign name (create)"),
		id:     fs.String("id", "", "campaign id (create; default random)"),
		window: fs.String("window", "30d", "tracking window, e.g. 30d, 2w, 36h (create)"),
		base:   fs.String("base", "", "public base URL of the collector (pixel, link; default from collector.listen)"),
		sends:  fs.Uint64("sends", 0, "number of messages sent, for the open rate (create)"),
		json:   fs.Bool("json", false, "print the report as JSON (report)"),
	}
	cfg, pos, code := cmd.parse(getenv)
	if cfg == nil {
		return code
	}
	// The command line is checked before storage is opened.
	var fresh storage.Campaign
	var base string
	var err error
	switch sub {
	case "create":
		fresh, err = newCampaign(cfg, f)
	case "pixel", "link":
		base, err = baseURL(cfg, *f.base)
		if err == nil && sub == "link" {
			err = checkTarget(pos[1])
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "mote campaign "+sub+":", err)
		return 2
	}
	log := newLogger(stderr, cfg.LogLevel)
	err = withCampaigns(ctx, cfg, log, func(db storage.SQL, s *storage.Campaigns) error {
		switch sub {
		case "create":
			return campaignCreate(ctx, s, fresh, stdout)
		case "list":
			return campaignList(ctx, s, stdout)
		case "show":
			return campaignShow(ctx, s, pos[0], stdout)
		case "pixel":
			return campaignPixel(ctx, s, pos[0], base, stdout)
		case "link":
			return campaignLink(ctx, s, pos[0], pos[1], base, stdout)
		default:
			return campaignReport(ctx, db, s, pos[0], *f.json, stdout)
		}
	})
	if err != nil {
		fmt.Fprintln(stderr, "mote campaign "+sub+":", err)
		return 1
	}
	return 0
}

// withCampaigns opens the configured storage, migrates it (the campaigns
// table may be new) and runs fn on it and its campaigns.
func withCampaigns(ctx context.Context, cfg *Config, log *slog.Logger, fn func(storage.SQL, *storage.Campaigns) error) error {
	eng, err := openEngine(ctx, cfg, log)
	if err != nil {
		if cfg.Storage.Engine == "embedded" {
			return fmt.Errorf("%w (the embedded data directory %s can be open in one process only: if mote serve is running, stop it first)", err, cfg.Storage.Embedded.DataDir)
		}
		return err
	}
	defer eng.Close()
	if err := eng.Migrate(ctx); err != nil {
		return err
	}
	return fn(eng, storage.NewCampaigns(eng))
}

// newCampaign checks the create flags and makes the campaign with fresh
// random keys.
func newCampaign(cfg *Config, f cliFlags) (storage.Campaign, error) {
	site, name, id := *f.site, strings.TrimSpace(*f.name), *f.id
	known := false
	for _, sc := range cfg.Sites {
		known = known || sc.ID == site
	}
	switch {
	case site == "":
		return storage.Campaign{}, errors.New("--site is required")
	case !known:
		return storage.Campaign{}, fmt.Errorf("site %q is not configured (sites in the configuration file)", site)
	case name == "":
		return storage.Campaign{}, errors.New("--name is required")
	case id != "" && !campaignID.MatchString(id):
		return storage.Campaign{}, fmt.Errorf("--id %q: want 1-64 characters of A-Z, a-z, 0-9, '_' or '-'", id)
	}
	window, err := parseWindow(*f.window)
	if err != nil {
		return storage.Campaign{}, fmt.Errorf("--window: %w", err)
	}
	if id == "" {
		id = newCampaignID()
	}
	now := time.Now().UTC().Truncate(time.Second)
	c := storage.Campaign{SiteID: site, ID: id, Name: name, Created: now, WindowEnd: now.Add(window), Sends: *f.sends}
	c.RecipientKey, c.LinkKey = newCampaignKeys()
	return c, nil
}

// newCampaignKeys returns a new campaign's random recipient and link keys.
func newCampaignKeys() (recipient, link []byte) {
	recipient, link = make([]byte, enrich.RecipientKeyLen), make([]byte, enrich.LinkKeyLen)
	rand.Read(recipient)
	rand.Read(link)
	return recipient, link
}

func campaignCreate(ctx context.Context, s *storage.Campaigns, c storage.Campaign, stdout io.Writer) error {
	if err := s.Create(ctx, c); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "campaign %s created for site %s\n", c.ID, c.SiteID)
	fmt.Fprintf(stdout, "tracking until %s; then its keys are wiped and its recipient ids can no longer be linked to any token\n", c.WindowEnd.Format(time.RFC3339))
	fmt.Fprintf(stdout, "pixel: mote campaign pixel %s\nlinks: mote campaign link %s URL\n", c.ID, c.ID)
	return nil
}

// newCampaignID returns 12 random characters of [a-z2-7] (60 bits): short
// enough for a URL, unguessable enough that ids do not enumerate.
func newCampaignID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := make([]byte, 12)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b)
}

// parseWindow reads 30d, 2w or any Go duration (36h), positive and at most
// maxWindow.
func parseWindow(v string) (time.Duration, error) {
	if v == "" {
		return 0, errors.New("empty")
	}
	var d time.Duration
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[v[len(v)-1]]
	if unit != 0 {
		n, err := strconv.Atoi(v[:len(v)-1])
		if err != nil {
			return 0, fmt.Errorf("%q is not a window (e.g. 30d, 2w, 36h)", v)
		}
		d = time.Duration(n) * unit
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("%q is not a window (e.g. 30d, 2w, 36h)", v)
		}
	}
	if d <= 0 || d > maxWindow {
		return 0, fmt.Errorf("%q must be positive and at most %d days", v, maxWindow/(24*time.Hour))
	}
	return d, nil
}

// keyState says what a campaign's keys allow, for show and list.
func keyState(c *storage.Campaign) string {
	if c.Wiped() {
		return "wiped: stored recipient ids can no longer be linked to any token; its links no longer redirect"
	}
	return "present until " + c.WindowEnd.Format(time.RFC3339) + ", then wiped: from then on stored recipient ids cannot be linked to any token"
}

func campaignShow(ctx context.Context, s *storage.Campaigns, id string, stdout io.Writer) error {
	c, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "campaign\t%s\nsite\t%s\nname\t%s\ncreated\t%s\nwindow ends\t%s\nsends\t%d\nkeys\t%s\n",
		c.ID, c.SiteID, c.Name, c.Created.Format(time.RFC3339), c.WindowEnd.Format(time.RFC3339), c.Sends, keyState(&c))
	return w.Flush()
}

func campaignList(ctx context.Context, s *storage.Campaigns, stdout io.Writer) error {
	all, err := s.List(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tSITE\tNAME\tCREATED\tWINDOW ENDS\tSENDS\tKEYS")
	for _, c := range all {
		keys := "present"
		if c.Wiped() {
			keys = "wiped"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", c.ID, c.SiteID, c.Name, c.Created.Format(time.DateOnly),
			c.WindowEnd.Format(time.DateOnly), c.Sends, keys)
	}
	return w.Flush()
}

// baseURL is the collector's public URL: --base, or one built from
// collector.listen (right on a developer's machine, to be set in
// production where a proxy or a domain fronts the collector).
func baseURL(cfg *Config, base string) (string, error) {
	if base == "" {
		u, err := localURL(cfg.Collector.Listen)
		if err != nil {
			return "", errors.New("--base is required: collector.listen " + cfg.Collector.Listen + " names no port")
		}
		return u, nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--base %q: want http(s)://host[:port]", base)
	}
	return strings.TrimRight(base, "/"), nil
}

// openCampaign returns a campaign whose keys still exist.
func openCampaign(ctx context.Context, s *storage.Campaigns, id string) (storage.Campaign, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return c, err
	}
	if c.Wiped() {
		return c, fmt.Errorf("campaign %s closed on %s and its keys are wiped: it tracks nothing any more", c.ID, c.WindowEnd.Format(time.RFC3339))
	}
	return c, nil
}

func campaignPixel(ctx context.Context, s *storage.Campaigns, id, base string, stdout io.Writer) error {
	c, err := openCampaign(ctx, s, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `<img src="%s%s" width="1" height="1" alt="" style="display:block;border:0">`+"\n", base, pixelPath(c))
	fmt.Fprintf(stdout, "\nReplace %s with your ESP's merge tag for a recipient id (A-Z a-z 0-9 . _ ~ -, at most %d characters, never an e-mail address).\n"+
		"Without tokens (counts only): %s/o/%s.gif\n", tokenPlaceholder, enrich.MaxTokenLen, base, c.ID)
	return nil
}

// checkTarget accepts what the collector will redirect to: an absolute
// http(s) URL with a host and no user info, at most 4096 bytes.
func checkTarget(target string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q is not an absolute http(s) URL", target)
	}
	if len(target) > 4096 {
		return errors.New("the URL is longer than 4096 bytes")
	}
	return nil
}

func campaignLink(ctx context.Context, s *storage.Campaigns, id, target, base string, stdout io.Writer) error {
	c, err := openCampaign(ctx, s, id)
	if err != nil {
		return err
	}
	path, err := linkPath(c, target)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, base+path)
	return nil
}

// linkPath is c's signed click link to target under the collector's URL,
// with the {{TOKEN}} placeholder: "/c/ID/{{TOKEN}}?u=...&s=...".
func linkPath(c storage.Campaign, target string) (string, error) {
	if err := checkTarget(target); err != nil {
		return "", err
	}
	if c.Wiped() || len(c.LinkKey) != enrich.LinkKeyLen {
		return "", dashboards.ErrKeysWiped
	}
	var key [enrich.LinkKeyLen]byte
	copy(key[:], c.LinkKey)
	return "/c/" + c.ID + "/" + tokenPlaceholder + "?u=" + url.QueryEscape(target) + "&s=" + enrich.SignLink(&key, target), nil
}

// pixelPath is c's per-recipient open pixel under the collector's URL.
func pixelPath(c storage.Campaign) string { return "/o/" + c.ID + "/" + tokenPlaceholder + ".gif" }

func campaignReport(ctx context.Context, db storage.SQL, s *storage.Campaigns, id string, asJSON bool, stdout io.Writer) error {
	c, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	r, err := stats.Campaign(ctx, db, c)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return writeReport(stdout, r)
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// writeReport prints a report as plain text.
func writeReport(out io.Writer, r *stats.CampaignReport) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	state := "tracking until " + r.WindowEnd.Format(time.RFC3339)
	if r.KeysWiped {
		state = "closed " + r.WindowEnd.Format(time.RFC3339) + ", keys wiped"
	}
	fmt.Fprintf(w, "campaign\t%s (%s), site %s, %s\n\n", r.ID, r.Name, r.SiteID, state)
	fmt.Fprintf(w, "sends\t%d\n", r.Sends)
	fmt.Fprintf(w, "opens\t%d\t(human-likely %d, machine %d, anonymous %d)\n", r.Opens, r.HumanOpens, r.MachineOpens, r.AnonymousOpens)
	fmt.Fprintf(w, "unique opens\t%d\t(human-likely %d; a click counts as an open)\n", r.UniqueOpens, r.UniqueHumanOpens)
	fmt.Fprintf(w, "open rate\t%s\t(human-likely %s)\n", pct(r.OpenRate), pct(r.HumanOpenRate))
	fmt.Fprintf(w, "clicks\t%d\t(unique %d)\n", r.Clicks, r.UniqueClicks)
	fmt.Fprintf(w, "click-to-open rate\t%s\n", pct(r.ClickToOpenRate))
	section := func(title, header string) {
		fmt.Fprintf(w, "\n%s\n%s\n", title, header)
	}
	section("top links", "  URL\tCLICKS\tUNIQUE")
	for _, l := range r.TopLinks {
		fmt.Fprintf(w, "  %s\t%d\t%d\n", l.URL, l.Clicks, l.UniqueClicks)
	}
	section("opens over time (UTC days)", "  DAY\tOPENS\tMACHINE\tCLICKS")
	for _, d := range r.Days {
		fmt.Fprintf(w, "  %s\t%d\t%d\t%d\n", d.Day.Format(time.DateOnly), d.Opens, d.MachineOpens, d.Clicks)
	}
	section("email clients", "  BROWSER\tOS\tHUMAN\tMACHINE")
	for _, c := range r.Clients {
		fmt.Fprintf(w, "  %s\t%s\t%d\t%d\n", orUnknown(c.Browser), orUnknown(c.OS), c.Opens, c.MachineOpens)
	}
	section("countries (human-likely opens)", "  COUNTRY\tOPENS")
	for _, c := range r.Countries {
		fmt.Fprintf(w, "  %s\t%d\n", orUnknown(c.Country), c.Opens)
	}
	section("machine verdicts (opens and clicks)", "  REASON\tHITS")
	for _, m := range r.MachineReasons {
		fmt.Fprintf(w, "  %s\t%d\n", m.Reason, m.Hits)
	}
	return w.Flush()
}
