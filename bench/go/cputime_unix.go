//go:build unix

package main

import (
	"syscall"
	"time"
)

// processCPU is the process's user + system CPU time so far (every
// thread), as gort_bench::cpu reads it on the Rust side; ok is false
// without a reading.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
