//go:build cgo

package embedded

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <stdint.h>

// Prototypes from chDB's public chdb.h (26.7). libchdb.so ships without a
// header, and the library is loaded at run time, so only the handful of
// entry points the engine calls are declared here, as function pointers
// filled by dlsym. Handles are opaque: the engine never looks inside them.
typedef void *chdb_connection;     // chdb_connection_ *
typedef void *chdb_result_p;       // chdb_result *
typedef void *chdb_insert_stream;  // chdb_insert_stream_ *

typedef const char *(*fn_version)(void);
typedef void (*fn_set_signal_handlers_enabled)(int);
typedef chdb_connection *(*fn_connect)(int, char **);
typedef void (*fn_close_conn)(chdb_connection *);
typedef chdb_result_p (*fn_query_n)(chdb_connection, const char *, size_t, const char *, size_t);
typedef void (*fn_destroy_query_result)(chdb_result_p);
typedef char *(*fn_result_buffer)(chdb_result_p);
typedef size_t (*fn_result_length)(chdb_result_p);
typedef const char *(*fn_result_error)(chdb_result_p);
typedef uint64_t (*fn_result_rows_written)(chdb_result_p);
typedef chdb_insert_stream (*fn_stream_insert_n)(chdb_connection, const char *, size_t, const char *, size_t);
typedef int (*fn_stream_append)(chdb_insert_stream, const void *, size_t);
typedef chdb_result_p (*fn_stream_done)(chdb_insert_stream);
typedef void (*fn_stream_cancel_insert)(chdb_insert_stream);
typedef const char *(*fn_stream_insert_error)(chdb_insert_stream);
typedef void (*fn_destroy_insert_stream)(chdb_insert_stream);

typedef struct {
	fn_version version;
	fn_set_signal_handlers_enabled set_signal_handlers_enabled;
	fn_connect connect;
	fn_close_conn close_conn;
	fn_query_n query_n;
	fn_destroy_query_result destroy_query_result;
	fn_result_buffer result_buffer;
	fn_result_length result_length;
	fn_result_error result_error;
	fn_result_rows_written result_rows_written;
	fn_stream_insert_n stream_insert_n;
	fn_stream_append stream_append;
	fn_stream_done stream_done;
	fn_stream_cancel_insert stream_cancel_insert;
	fn_stream_insert_error stream_insert_error;
	fn_destroy_insert_stream destroy_insert_stream;
} chdb_api;

static chdb_api api;

// mote_chdb_load opens the library and resolves every symbol. It returns
// NULL on success, else the name of what failed (the dlerror text is in
// *detail).
static const char *mote_chdb_load(const char *path, const char **detail) {
	void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	if (!h) { *detail = dlerror(); return "dlopen"; }
#define SYM(field, name) api.field = (void *)dlsym(h, name); if (!api.field) { *detail = dlerror(); return name; }
	SYM(version, "chdb_version")
	SYM(set_signal_handlers_enabled, "chdb_set_signal_handlers_enabled")
	SYM(connect, "chdb_connect")
	SYM(close_conn, "chdb_close_conn")
	SYM(query_n, "chdb_query_n")
	SYM(destroy_query_result, "chdb_destroy_query_result")
	SYM(result_buffer, "chdb_result_buffer")
	SYM(result_length, "chdb_result_length")
	SYM(result_error, "chdb_result_error")
	SYM(result_rows_written, "chdb_result_rows_written")
	SYM(stream_insert_n, "chdb_stream_insert_n")
	SYM(stream_append, "chdb_stream_append")
	SYM(stream_done, "chdb_stream_done")
	SYM(stream_cancel_insert, "chdb_stream_cancel_insert")
	SYM(stream_insert_error, "chdb_stream_insert_error")
	SYM(destroy_insert_stream, "chdb_destroy_insert_stream")
#undef SYM
	return NULL;
}

static const char *mote_chdb_version(void) { return api.version(); }
static void mote_chdb_no_signal_handlers(void) { api.set_signal_handlers_enabled(0); }
static chdb_connection *mote_chdb_connect(int argc, char **argv) { return api.connect(argc, argv); }
static void mote_chdb_close(chdb_connection *c) { api.close_conn(c); }

// mote_chdb_query runs one statement. On success it returns the result
// (the caller copies the buffer and destroys it); on failure it destroys
// the result and returns NULL with a malloc'ed copy of the message in *err.
static chdb_result_p mote_chdb_query(chdb_connection *c, const char *q, size_t qlen, const char *f, size_t flen, char **err) {
	chdb_result_p r = api.query_n(*c, q, qlen, f, flen);
	if (!r) { *err = strdup("chdb_query_n returned no result"); return NULL; }
	const char *e = api.result_error(r);
	if (e && e[0]) { *err = strdup(e); api.destroy_query_result(r); return NULL; }
	return r;
}
static char *mote_chdb_result_buffer(chdb_result_p r) { return api.result_buffer(r); }
static size_t mote_chdb_result_length(chdb_result_p r) { return api.result_length(r); }
static void mote_chdb_destroy_result(chdb_result_p r) { api.destroy_query_result(r); }

// mote_chdb_insert streams n chunks of data into one INSERT: begin, append
// each chunk, finish. Doing the whole exchange in one cgo call keeps the
// per-chunk call overhead off the Go side. It returns the rows written, or
// -1 with a malloc'ed message in *err (the INSERT is then cancelled).
static int64_t mote_chdb_insert(chdb_connection *c, const char *q, size_t qlen, const char *f, size_t flen,
		const char *data, size_t len, size_t chunk, char **err) {
	chdb_insert_stream s = api.stream_insert_n(*c, q, qlen, f, flen);
	if (!s) { *err = strdup("chdb_stream_insert_n returned no stream"); return -1; }
	const char *e = api.stream_insert_error(s);
	if (e && e[0]) { *err = strdup(e); api.destroy_insert_stream(s); return -1; }
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		if (api.stream_append(s, data + off, n) != 0) {
			e = api.stream_insert_error(s);
			*err = strdup(e && e[0] ? e : "chdb_stream_append failed");
			api.stream_cancel_insert(s);
			api.destroy_insert_stream(s);
			return -1;
		}
	}
	chdb_result_p r = api.stream_done(s);
	int64_t rows = -1;
	if (!r) {
		e = api.stream_insert_error(s);
		*err = strdup(e && e[0] ? e : "chdb_stream_done returned no result");
	} else {
		e = api.result_error(r);
		if (e && e[0]) *err = strdup(e);
		else rows = (int64_t)api.result_rows_written(r);
		api.destroy_query_result(r);
	}
	api.destroy_insert_stream(s);
	return rows;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// lib is the process's one libchdb.so: a shared library can be loaded once,
// and chDB runs one engine per process.
var lib struct {
	mu      sync.Mutex
	path    string // loaded from, "" until load succeeds
	version string // chdb_version()
}

// loadLibrary dlopens path (once per process) and returns chdb_version().
// It disables chDB's signal handlers before any connection exists: chDB
// would otherwise install process-wide handlers (SIGSEGV, SIGBUS, SIGPIPE,
// SIGINT, SIGTERM, ...) on its first connect, replacing the Go runtime's and
// breaking panics on nil dereferences, os/signal and the collector's ordered
// shutdown. chdb_set_signal_handlers_enabled(0) is process-wide and sticky.
func loadLibrary(path string) (string, error) {
	lib.mu.Lock()
	defer lib.mu.Unlock()
	if lib.path != "" {
		if lib.path != path {
			return "", fmt.Errorf("libchdb already loaded from %s in this process; cannot load %s as well", lib.path, path)
		}
		return lib.version, nil
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var detail *C.char
	if what := C.mote_chdb_load(cpath, &detail); what != nil {
		msg := "unknown error"
		if detail != nil {
			msg = C.GoString(detail)
		}
		if C.GoString(what) == "dlopen" {
			return "", fmt.Errorf("load %s: %s", path, msg)
		}
		return "", fmt.Errorf("load %s: missing symbol %s (not the chDB version Mote is built for?)", path, C.GoString(what))
	}
	C.mote_chdb_no_signal_handlers()
	lib.path, lib.version = path, C.GoString(C.mote_chdb_version())
	return lib.version, nil
}

// conn is one chdb_connect connection. Its methods are not safe for
// concurrent use: the Engine serialises them.
type conn struct {
	c *C.chdb_connection
}

// connect opens a connection with command-line style arguments (argv[0]
// is a program name, as clickhouse-local expects).
func connect(args []string) (*conn, error) {
	argv := make([]*C.char, len(args)+1)
	argv[0] = C.CString("mote")
	for i, a := range args {
		argv[i+1] = C.CString(a)
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	cargv := (**C.char)(C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof(argv[0]))))
	defer C.free(unsafe.Pointer(cargv))
	copy(unsafe.Slice(cargv, len(argv)), argv)
	c := C.mote_chdb_connect(C.int(len(argv)), cargv)
	if c == nil || *c == nil {
		return nil, errors.New("chdb_connect failed (the reason is in chDB's log, usually in the data directory)")
	}
	return &conn{c: c}, nil
}

func (c *conn) close() {
	if c.c != nil {
		C.mote_chdb_close(c.c)
		c.c = nil
	}
}

// query runs one statement and returns its output in format (the empty
// format means TabSeparated). Query text is passed with its
// length, so it may hold any byte.
func (c *conn) query(q, format string) ([]byte, error) {
	if c.c == nil {
		return nil, errClosed
	}
	if format == "" {
		format = "TabSeparated"
	}
	var cerr *C.char
	r := C.mote_chdb_query(c.c, cstr(q), C.size_t(len(q)), cstr(format), C.size_t(len(format)), &cerr)
	if r == nil {
		return nil, serverError(takeCString(cerr))
	}
	defer C.mote_chdb_destroy_result(r)
	n := C.mote_chdb_result_length(r)
	if n == 0 {
		return nil, nil
	}
	return C.GoBytes(unsafe.Pointer(C.mote_chdb_result_buffer(r)), C.int(n)), nil
}

// insertChunk is how much of an insert's data one chdb_stream_append
// carries. chDB copies each chunk into a bounded queue that the INSERT's
// parser drains on its own thread, so moderate chunks let parsing overlap
// with appending without doubling the batch in memory.
const insertChunk = 1 << 20

// insert streams data (in format) into the INSERT statement q and returns
// the rows written.
func (c *conn) insert(q, format string, data []byte) (int64, error) {
	if c.c == nil {
		return 0, errClosed
	}
	var cerr *C.char
	var p *C.char
	if len(data) > 0 {
		p = (*C.char)(unsafe.Pointer(&data[0]))
	}
	// data is Go memory passed for the duration of the call only, which
	// the cgo pointer rules allow (it holds no Go pointers).
	rows := C.mote_chdb_insert(c.c, cstr(q), C.size_t(len(q)), cstr(format), C.size_t(len(format)),
		p, C.size_t(len(data)), insertChunk, &cerr)
	if rows < 0 {
		return 0, serverError(takeCString(cerr))
	}
	return int64(rows), nil
}

// cstr passes a Go string's bytes to C without copying; the callee takes
// the length separately and does not keep the pointer.
func cstr(s string) *C.char {
	if s == "" {
		return nil
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
}

func takeCString(p *C.char) string {
	if p == nil {
		return ""
	}
	defer C.free(unsafe.Pointer(p))
	return C.GoString(p)
}
