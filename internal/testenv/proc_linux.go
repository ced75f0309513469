package testenv

import "syscall"

// sysProcAttr makes the kernel kill the server when the process that started
// it dies, however it dies (a panic, os.Exit, SIGKILL of the test binary), so
// no test run ever leaves an orphaned server behind. Pdeathsig follows the
// OS thread that forked the child, which is why launch starts it from a
// goroutine locked to its thread for the child's whole life. Setpgid keeps a
// terminal's Ctrl-C away from the server so that the parent decides how it
// stops.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
