package embedded

import (
	"os"
	"syscall"
	"testing"
)

// readOnlyDir returns a directory this process cannot write to. An
// unprivileged user gets a directory without write permission; root writes
// through permissions, so root gets a read-only tmpfs mounted for the test
// (make test runs as root in CI: the check must run there too, not be
// skipped). A root without the right to mount fails the test.
func readOnlyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NODEV, "size=64k"); err != nil {
		t.Fatalf("mount a read-only tmpfs for the read-only data directory check (root writes through permissions): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
