//go:build unix

package dataplane

import "syscall"

// connectionsFromFileLimit is ingress-nginx's max-worker-connections 0:
// three quarters of the open-file limit less 1024 (at least 1024).
func connectionsFromFileLimit() int {
	var rl syscall.Rlimit
	files := uint64(1024)
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 2048 {
		files = rl.Cur - 1024
	}
	files = min(files, 1<<30)
	return int(files * 3 / 4)
}
