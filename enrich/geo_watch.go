package enrich

import (
	"context"
	"log/slog"
	"os"
	"time"
)

// geoFileStamp identifies a version of a file cheaply: updaters (geoipupdate,
// a package manager, deploy/dev/fetch-geoip.sh) replace the file, which
// changes its modification time or size.
type geoFileStamp struct {
	mod  time.Time
	size int64
}

func geoStat(path string) (geoFileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return geoFileStamp{}, err
	}
	return geoFileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// DefaultGeoWatchInterval is how often Watch looks at the database file.
const DefaultGeoWatchInterval = time.Minute

// Watch polls the database file every interval (DefaultGeoWatchInterval
// when zero) and reloads it when its modification time or size changed, or
// when no database is loaded yet and the file has appeared. It returns when
// ctx is done. Polling instead of inotify keeps it portable and costs one
// stat per interval. A failed reload is logged once per file version (the
// message names the file, never an address) and the previous database stays
// in service. SIGHUP handling belongs to the caller, which calls Reload.
func (g *Geo) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = DefaultGeoWatchInterval
	}
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var failed geoFileStamp // the version whose reload failed, not retried
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stamp, err := geoStat(g.path)
		if err != nil || stamp == failed {
			continue
		}
		if db := g.db.Load(); db != nil && db.stat == stamp {
			continue
		}
		if err := g.Reload(); err != nil {
			failed = stamp
			log.Warn("geoip database not reloaded; keeping the previous one", "err", err)
			continue
		}
		log.Info("geoip database reloaded", "path", g.path)
	}
}
