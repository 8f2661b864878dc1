//go:build linux || freebsd

package main

import (
	"syscall"
	"time"
)

// rawSleep blocks the calling thread in the nanosleep system call for d
// (resuming after a signal). syscall.Nanosleep enters the runtime's
// syscall state, so sysmon hands this goroutine's P to another thread,
// as for any blocking system call.
func rawSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(d.Nanoseconds())
	for {
		var left syscall.Timespec
		err := syscall.Nanosleep(&ts, &left)
		if err != syscall.EINTR {
			if err != nil {
				fail("nanosleep: %v", err)
			}
			return
		}
		ts = left
	}
}
