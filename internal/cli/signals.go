package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/moat-ingress/moat/internal/app"
)

// errTerminated is the cause of the context SIGTERM cancels.
var errTerminated = errors.New("SIGTERM received")

// SignalContext returns a context that SIGTERM or SIGINT cancels, with
// app.ErrInterrupted as the cause for SIGINT (serve and controller then
// skip the grace period). Once it is cancelled a second SIGINT exits at
// once; a second SIGTERM is ignored, so a drain under way finishes.
func SignalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	c := make(chan os.Signal, 2)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	go func() {
		first := true
		for s := range c {
			switch {
			case first && s == os.Interrupt:
				cancel(app.ErrInterrupted)
			case first:
				cancel(errTerminated)
			case s == os.Interrupt:
				fmt.Fprintln(os.Stderr, "moat: interrupted again; exiting now")
				os.Exit(130)
			}
			first = false
		}
	}()
	return ctx, func() { signal.Stop(c); cancel(nil) }
}

// Sighup turns SIGHUP into re-read requests for the rest of the process,
// the drain included: without it SIGHUP would end the process (Go's
// default).
func Sighup() <-chan struct{} {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case out <- struct{}{}:
			default: // one pending re-read covers this one
			}
		}
	}()
	return out
}

// seconds is a duration flag that also takes a bare number of seconds,
// as ingress-nginx's --shutdown-grace-period does.
type seconds struct{ d *time.Duration }

func (s seconds) Set(v string) error {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return errors.New("must not be negative")
		}
		*s.d = time.Duration(n) * time.Second
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("%q: want a duration such as 5s, or a number of seconds", v)
	}
	*s.d = d
	return nil
}

func (s seconds) String() string { return s.d.String() }
func (s seconds) Type() string   { return "duration" }

// DefaultShutdownGracePeriod is long enough for a terminating pod's
// endpoint to be withdrawn from kube-proxy and most load balancers;
// ingress-nginx's default is 0, which leaves that race to its preStop.
const DefaultShutdownGracePeriod = 5 * time.Second

// LifecycleFlags adds --shutdown-grace-period.
func LifecycleFlags(cmd *cobra.Command, lc *app.Lifecycle) {
	lc.ShutdownGracePeriod = DefaultShutdownGracePeriod
	cmd.Flags().Var(seconds{&lc.ShutdownGracePeriod}, "shutdown-grace-period",
		"after SIGTERM, how long /readyz fails while the listeners keep serving, before the drain (worker-shutdown-timeout in the controller ConfigMap) begins; a duration or a number of seconds")
}
