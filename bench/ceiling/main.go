// Command ceiling is the throughput ceiling for Mote's collector: a bare
// fasthttp server that answers every request with the same 43-byte
// transparent GIF and the same headers as the collector's pixel, and does
// nothing else. Whatever the collector does on top (parse, gate, enrich,
// spool) shows as the distance to this server under the same wrk load on
// the same machine; see bench/README.md.
//
// With -durable DIR it also makes the collector's one promise that costs
// more than CPU: a request is answered only after its record (here, its
// request URI) was written to a file in DIR and fsynced, in groups, as the
// collector's spool does. The distance from the bare ceiling to the durable
// one is what durability alone costs on this disk.
//
// Usage:
//
//	go run ./bench/ceiling -addr 127.0.0.1:8090 [-durable DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
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
	durable := flag.String("durable", "", "answer each request after its URI is fsynced to a file in this directory")
	flag.Parse()
	var gc *groupCommit
	if *durable != "" {
		var err error
		if gc, err = openGroupCommit(*durable); err != nil {
			fmt.Fprintln(os.Stderr, "ceiling:", err)
			os.Exit(1)
		}
	}
	if err := run(*addr, gc); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}

func run(addr string, gc *groupCommit) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if gc != nil {
				gc.append(ctx.RequestURI())
			}
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

// groupCommit appends records to one file and makes them durable in
// groups: append returns once a write and fsync that included its record
// have returned, and the records that arrive during one fsync go together
// in the next.
type groupCommit struct {
	f    *os.File
	mu   sync.Mutex
	kick *sync.Cond // pending records for the committer
	done *sync.Cond // durable moved
	buf  []byte
	seq  uint64 // records appended
	dur  uint64 // records durable
}

// maxFile is where the file starts again from the beginning, so that a long
// run does not fill the disk.
const maxFile = 64 << 20

func openGroupCommit(dir string) (*groupCommit, error) {
	f, err := os.Create(filepath.Join(dir, "ceiling.log"))
	if err != nil {
		return nil, err
	}
	g := &groupCommit{f: f}
	g.kick, g.done = sync.NewCond(&g.mu), sync.NewCond(&g.mu)
	go g.commitLoop()
	return g, nil
}

func (g *groupCommit) append(rec []byte) {
	g.mu.Lock()
	g.buf = append(append(g.buf, rec...), '\n')
	g.seq++
	mine := g.seq
	g.kick.Signal()
	for g.dur < mine {
		g.done.Wait()
	}
	g.mu.Unlock()
}

func (g *groupCommit) commitLoop() {
	var spare []byte
	var size int64
	g.mu.Lock()
	for {
		for len(g.buf) == 0 {
			g.kick.Wait()
		}
		group, seq := g.buf, g.seq
		g.buf = spare[:0]
		g.mu.Unlock()
		if size > maxFile {
			size = 0
			if _, err := g.f.Seek(0, io.SeekStart); err != nil {
				panic(err)
			}
		}
		n, err := g.f.Write(group)
		if err == nil {
			err = g.f.Sync()
		}
		if err != nil {
			panic(err) // a benchmark tool: a failing disk ends the run
		}
		size += int64(n)
		g.mu.Lock()
		spare = group
		g.dur = seq
		g.done.Broadcast()
	}
}
