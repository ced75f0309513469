//go:build !linux

package testenv

import "syscall"

// sysProcAttr: without Pdeathsig outside Linux, Main and tb.Cleanup are what
// stop the servers.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
