//go:build !unix

package spool

import (
	"os"
	"path/filepath"
)

// lockDir only creates the lock file where flock(2) does not exist; the
// single-process rule is then the operator's.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
}

func unlockDir(f *os.File) { f.Close() }
