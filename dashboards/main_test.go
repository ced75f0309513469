package dashboards

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mote-analytics/mote"
	"github.com/mote-analytics/mote/internal/testenv"
	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/embedded"
	"github.com/mote-analytics/mote/storage/enginetest"
	"github.com/mote-analytics/mote/storage/stats"
)

// The tests read a real store: chDB (the embedded engine, one per process)
// holding enginetest's hand-counted StatsFixture.
var store struct {
	once sync.Once
	dir  string
	eng  *embedded.Engine
	fx   enginetest.StatsFixture
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if store.eng != nil {
		_ = store.eng.Close()
	}
	if store.dir != "" {
		_ = os.RemoveAll(store.dir)
	}
	os.Exit(code)
}

func seeded(t *testing.T) (*embedded.Engine, enginetest.StatsFixture) {
	t.Helper()
	lib := testenv.ChDBLib(t)
	store.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if store.dir, store.err = os.MkdirTemp("", "mote-dashboards-"); store.err != nil {
			return
		}
		if store.eng, store.err = embedded.Open(ctx, embedded.Config{LibPath: lib, DataDir: store.dir, Database: "dash"}); store.err != nil {
			return
		}
		if store.err = store.eng.Migrate(ctx); store.err != nil {
			return
		}
		if store.fx, store.err = enginetest.SeedStats(ctx, store.eng); store.err != nil {
			return
		}
		store.err = seedCampaign(ctx, store.eng, store.fx)
	})
	if store.err != nil {
		t.Fatal(store.err)
	}
	return store.eng, store.fx
}

// seedCampaign adds email campaign "launch" of the fixture's site: 4
// sends; opens by recipients 1 and 2 and a machine open (Apple Mail
// privacy protection) for 3; one click by 1. Web stats read no email
// rows, so the fixture's numbers stand.
func seedCampaign(ctx context.Context, eng interface {
	storage.Engine
	storage.SQL
}, fx enginetest.StatsFixture) error {
	c := storage.Campaign{SiteID: fx.Site, ID: "launch", Name: "Spring launch", Created: fx.D, WindowEnd: fx.D.AddDate(1, 0, 0),
		Sends: 4, RecipientKey: make([]byte, 32), LinkKey: make([]byte, 32)}
	c.RecipientKey[0], c.LinkKey[0] = 1, 2
	if err := storage.NewCampaigns(eng).Create(ctx, c); err != nil {
		return err
	}
	at := fx.D.Add(2 * time.Hour)
	ev := func(kind mote.Kind, rcpt uint64, machine string, link string) mote.Event {
		e := mote.Event{SiteID: fx.Site, TS: at, Kind: kind, CampaignID: c.ID, RecipientID: rcpt, MachineReason: machine, LinkURL: link,
			Browser: "Safari", OS: "macOS", Country: "DE"}
		if machine != "" {
			e.MachineOpen = 1
		}
		return e
	}
	return eng.InsertEvents(ctx, 2, []mote.Event{
		ev(mote.KindEmailOpen, 1, "", ""), ev(mote.KindEmailOpen, 2, "", ""), ev(mote.KindEmailOpen, 3, "apple_mpp", ""),
		ev(mote.KindEmailClick, 1, "", "https://shop.example/launch"),
	})
}

// testGoals are the fixture site's goals (see enginetest.FixtureGoals).
func testGoals(fx enginetest.StatsFixture) map[string][]stats.Goal {
	return map[string][]stats.Goal{fx.Site: enginetest.FixtureGoals()}
}

// testSites are the sites the test servers know: the fixture's and an
// empty one.
func testSites(fx enginetest.StatsFixture) []mote.Site {
	return []mote.Site{
		{ID: fx.Site, Timezone: fx.Timezone, KAnonymity: 2},
		{ID: "empty", Timezone: "Europe/Berlin"},
	}
}

// startServer serves cfg on a loopback port until the test ends and
// returns its base URL.
func startServer(t *testing.T, cfg Config) string {
	t.Helper()
	srv := New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return "http://" + ln.Addr().String()
}

// statsServer is an admin server on the seeded store whose clock stands
// at 12:04 of the fixture's day D in Tokyo (so "today" is day D), four
// minutes after v3's first hit and one before its second.
func statsServer(t *testing.T) (string, enginetest.StatsFixture) {
	eng, fx := seeded(t)
	now := fx.D.Add(3*time.Hour + 4*time.Minute)
	base := startServer(t, Config{Stats: eng, Sites: testSites(fx), Goals: testGoals(fx), Now: func() time.Time { return now }})
	return base, fx
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
