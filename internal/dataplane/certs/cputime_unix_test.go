//go:build unix

package certs

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the process has used, so the
// benchmark can report work per handshake independently of machine load.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
