package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: mote <command> [flags]

commands:
  serve     run the beacon collector and the admin listener
  migrate   apply the storage schema to the configured ClickHouse and exit
  demo      fill a site with synthetic traffic through the real ingest path (--days 30 --visitors 50000)
  storage   storage copy --to clickhouse://host:9000/db: move the embedded data set to a server
  campaign  email campaigns: create, list, show, pixel, link, report
  erase     remove a campaign recipient's opens and clicks (--campaign C --token T)
  admin     admin listener credentials: hash-password, new-api-key
  share     read-only dashboard links: create --site S, list, revoke ID
  version   print the version

Run "mote <command> -h" for the flags of a command.
`

// run is main without the process: tests call it in-process.
// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "mote", version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "campaign":
		return campaignMain(ctx, args, getenv, stdout, stderr)
	case "erase":
		return eraseMain(ctx, args, getenv, stdout, stderr)
	case "storage":
		return storageMain(ctx, args, getenv, stdout, stderr)
	case "demo":
		return demoMain(ctx, args, getenv, stdout, stderr)
	case "admin":
		return adminMain(args, os.Stdin, stdout, stderr)
	case "share":
		return shareMain(ctx, args, getenv, stdout, stderr)
	case "serve", "migrate":
	default:
		fmt.Fprintf(stderr, "mote: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet("mote "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	banner := false
	if cmd == "serve" {
		fs.BoolVar(&banner, "banner", false, "print the tracker tag, a test hit and the dashboard URL once serving (make run does)")
	}
	cfg, err := loadConfig(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "mote:", err)
		return 2
	}
	log := newLogger(stderr, cfg.LogLevel)
	switch cmd {
	case "migrate":
		err = migrate(ctx, cfg, log, stderr)
	default:
		var ready chan listeners
		if banner {
			ready = make(chan listeners, 1)
			go func() {
				if l, ok := <-ready; ok {
					printBanner(stdout, cfg, l)
				}
			}()
		}
		err = serve(ctx, cfg, log, ready)
	}
	if err != nil {
		log.Error(cmd+" failed", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by Config.validate
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
