//go:build !cgo

package embedded

import "errors"

// Without cgo there is no dlopen: the engine reports that instead of
// failing to link, so a CGO_ENABLED=0 build of the rest of Mote still works
// with the ClickHouse server engine.
var errNoCgo = errors.New("the embedded engine needs a binary built with cgo (CGO_ENABLED=1) to load libchdb.so; use the clickhouse engine or rebuild")

func loadLibrary(string) (string, error) { return "", errNoCgo }

type conn struct{}

func connect([]string) (*conn, error)                        { return nil, errNoCgo }
func (c *conn) close()                                       {}
func (c *conn) query(string, string) ([]byte, error)         { return nil, errNoCgo }
func (c *conn) insert(string, string, []byte) (int64, error) { return 0, errNoCgo }
