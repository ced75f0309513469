// Command clickhouse-dev runs Debian's clickhouse-server in the foreground
// for local development (`make run`), with its data in a directory of your
// choice, until SIGINT or SIGTERM. It listens on 127.0.0.1 only. The
// benchmarks (bench/run.sh, bench/soak.sh) use it for the server engine;
// `make run` uses the embedded chDB engine and needs no server.
//
//	go run ./internal/testenv/cmd/clickhouse-dev -dir data/clickhouse -port 9000
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mote-analytics/mote/internal/testenv"
)

func main() {
	dir := flag.String("dir", "data/clickhouse", "server directory (config, data, logs); kept across runs")
	port := flag.Int("port", 9000, "native protocol port on 127.0.0.1")
	httpPort := flag.Int("http-port", 8123, "HTTP port on 127.0.0.1")
	bin := flag.String("bin", "", "clickhouse-server binary (default: PATH, then /usr/sbin)")
	flag.Parse()
	if err := run(*dir, *port, *httpPort, *bin); err != nil {
		slog.Error("clickhouse-dev", "err", err)
		os.Exit(1)
	}
}

func run(dir string, port, httpPort int, bin string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %q: %w", dir, err)
	}
	srv, err := testenv.StartServer(ctx, testenv.Config{Dir: dir, TCPPort: port, HTTPPort: httpPort, Binary: bin})
	if err != nil {
		return err
	}
	fmt.Printf("ClickHouse is ready: %s (HTTP %s, logs in %s/log); Ctrl-C stops it\n", srv.DSN("default"), srv.HTTPAddr(), srv.Dir())
	select {
	case <-ctx.Done():
		slog.Info("stopping ClickHouse")
		return srv.Close(30 * time.Second)
	case <-srv.Exited():
		return fmt.Errorf("clickhouse-server exited; see %s/log/server.err.log", srv.Dir())
	}
}
