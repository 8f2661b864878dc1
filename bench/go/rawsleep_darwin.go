//go:build darwin

package main

import (
	"syscall"
	"time"
)

// rawSleep blocks the calling thread in a select system call with no
// descriptors for d (macOS has no nanosleep in package syscall). The call
// enters the runtime's syscall state, so sysmon hands this goroutine's P
// to another thread. A signal ends it early: the measurement is of many
// calls, one short call does not matter.
func rawSleep(d time.Duration) {
	tv := syscall.NsecToTimeval(d.Nanoseconds())
	if err := syscall.Select(0, nil, nil, nil, &tv); err != nil && err != syscall.EINTR {
		fail("select: %v", err)
	}
}
