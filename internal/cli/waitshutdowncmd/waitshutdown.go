// Package waitshutdowncmd is `moat wait-shutdown`, the preStop hook that
// waits for the serve or controller processes of the pod to end. It is
// apart because it reads /proc, which no other command does.
package waitshutdowncmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// New is the Deployment's preStop hook, the counterpart of
// ingress-nginx's /wait-shutdown: it starts moat's graceful shutdown
// (SIGTERM) and blocks until moat has exited, so that the kubelet's own
// SIGTERM, sent when the hook returns, finds nothing left to cut. It is a
// moat subcommand because the distroless image has no shell, kill or
// sleep.
func New() *cobra.Command {
	var pid int
	var poll time.Duration
	cmd := &cobra.Command{
		Use:   "wait-shutdown",
		Short: "Send SIGTERM to the moat serve/controller process and wait until it has exited (a preStop hook)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pids := []int{pid}
			if pid == 0 {
				var err error
				if pids, err = findServers("/proc", os.Getpid()); err != nil {
					return err
				}
			}
			for _, p := range pids {
				if err := syscall.Kill(p, syscall.SIGTERM); err != nil {
					return fmt.Errorf("SIGTERM to pid %d: %w", p, err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "moat wait-shutdown: sent SIGTERM to pid %d; waiting for it to exit\n", p)
			}
			// The kubelet bounds the hook by terminationGracePeriodSeconds.
			for _, p := range pids {
				for alive(p) {
					time.Sleep(poll)
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&pid, "pid", 0, "the process to stop (default: every moat serve or moat controller process found in /proc)")
	cmd.Flags().DurationVar(&poll, "poll", 200*time.Millisecond, "how often to check whether the process has exited")
	return cmd
}

// alive reports whether pid still exists (as a zombie too: its parent has
// not reaped it, but it serves nothing any more).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	st, rerr := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if rerr != nil {
		return err == nil
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	if i := strings.LastIndexByte(string(st), ')'); i >= 0 && i+2 < len(st) && st[i+2] == 'Z' {
		return false
	}
	return true
}

// findServers lists the processes under proc whose command line is a moat
// binary running serve or controller, other than self.
func findServers(proc string, self int) ([]int, error) {
	entries, err := os.ReadDir(proc)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join(proc, e.Name(), "cmdline"))
		if err != nil {
			continue // gone meanwhile, or not ours to read
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) >= 2 && filepath.Base(args[0]) == "moat" && (args[1] == "controller" || args[1] == "serve") {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		return nil, errors.New("no `moat controller` or `moat serve` process found in " + proc)
	}
	return pids, nil
}
