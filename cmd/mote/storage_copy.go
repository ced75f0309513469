package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/mote-analytics/mote/storage"
	"github.com/mote-analytics/mote/storage/clickhouse"
	"github.com/mote-analytics/mote/storage/embedded"
)

const storageUsage = `usage: mote storage copy --to clickhouse://host:9000/db [-config mote.yaml]

Moves the embedded data set (storage.embedded.data_dir) into a ClickHouse
server, which it migrates first. Resumable: run it again after an
interruption and it skips what is already there. It verifies the totals
of every table at the end. Stop "mote serve" first: chDB opens a data
directory in one process only.
`

// storageMain is "mote storage ...".
func storageMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "copy" {
		fmt.Fprint(stderr, storageUsage)
		return 2
	}
	fs := flag.NewFlagSet("mote storage copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "", "destination ClickHouse DSN, clickhouse://host:9000/db")
	progress := progressFlag(fs)
	cfg, err := loadConfig(fs, args[1:], getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil && !strings.HasPrefix(*to, "clickhouse://") {
		err = errors.New("--to: want a DSN clickhouse://host:9000/db")
	}
	if err != nil {
		fmt.Fprintln(stderr, "mote storage copy:", err)
		return 2
	}
	log := newLogger(stderr, cfg.LogLevel)
	rep, err := copyStorage(ctx, cfg, *to, log, progress(stderr))
	if err != nil {
		log.Error("storage copy failed; run it again to resume", "err", err)
		return 1
	}
	fmt.Fprintf(stdout, "copied %d events (%d batches already there), %d sessions rows (%d days already there), %d suppressed counters, %d campaign rows; totals verified\n",
		rep.Events, rep.EventBatchesSkipped, rep.Sessions, rep.SessionDaysSkipped, rep.Suppressed, rep.Campaigns)
	return 0
}

// copyStorage opens both engines and runs storage.Copy with a progress bar
// per table on w.
func copyStorage(ctx context.Context, cfg *Config, to string, log *slog.Logger, w io.Writer) (storage.CopyReport, error) {
	src, err := embedded.Open(ctx, embedded.Config{LibPath: cfg.Storage.Embedded.Lib, DataDir: cfg.Storage.Embedded.DataDir, Logger: log})
	if err != nil {
		return storage.CopyReport{}, fmt.Errorf("open the embedded data set: %w", err)
	}
	defer src.Close()
	if err := src.Migrate(ctx); err != nil { // an older data set gains the newer tables
		return storage.CopyReport{}, err
	}
	dst, err := clickhouse.Open(ctx, clickhouse.Config{DSN: to, Logger: log})
	if err != nil {
		return storage.CopyReport{}, fmt.Errorf("open the destination: %w", err)
	}
	defer dst.Close()
	if err := dst.Migrate(ctx); err != nil {
		return storage.CopyReport{}, err
	}
	var bar *progressbar.ProgressBar
	table := ""
	rep, err := storage.Copy(ctx, src, dst, func(p storage.CopyProgress) {
		if p.Table != table {
			if bar != nil {
				_ = bar.Finish()
			}
			table = p.Table
			bar = newProgressBar(w, p.Total, table)
		}
		_ = bar.Set(p.Done)
	})
	if bar != nil {
		_ = bar.Finish()
	}
	return rep, err
}
