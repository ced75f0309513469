// Command ceiling is the throughput ceiling for Mote's collector: a bare
// fasthttp server that answers every request with the same 43-byte
// transparent GIF and the same headers as the collector's pixel, and does
// nothing else. Whatever the collector does on top (parse, gate, enrich,
// spool) shows as the distance to this server under the same wrk load on
// the same machine; see bench/README.md.
//
// Usage:
//
//	go run ./bench/ceiling -addr 127.0.0.1:8090
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// gif is the collector's pixel (collector/responses.go), repeated here so
// that the ceiling depends on nothing of Mote's.
var gif = []byte{
	'G', 'I', 'F', '8', '9', 'a', 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
	0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to serve the GIF on")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.SetContentType("image/gif")
			ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
			ctx.Response.Header.Set("Cross-Origin-Resource-Policy", "cross-origin")
			ctx.Response.SetBodyRaw(gif)
		},
		// The collector's limits, so both servers do the same reading work.
		ReadBufferSize:        8 << 10,
		MaxRequestBodySize:    16 << 10,
		ReadTimeout:           5 * time.Second,
		WriteTimeout:          5 * time.Second,
		IdleTimeout:           60 * time.Second,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		// Quiet, like the collector: a log line per bad request would
		// measure the terminal, not the server.
		Logger: quietLogger{},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	slog.Info("ceiling serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.ShutdownWithContext(sctx)
}

// quietLogger drops fasthttp's per-connection error lines.
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
