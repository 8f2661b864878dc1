//go:build !(linux || freebsd || darwin)

package main

import (
	"runtime"
	"time"
)

// rawSleep has no blocking system call to make here: blocking_calls fails
// on this system rather than measure something else.
func rawSleep(time.Duration) {
	fail("blocking_calls: no raw sleep system call on %s", runtime.GOOS)
}
