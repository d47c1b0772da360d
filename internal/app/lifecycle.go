package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/moat-ingress/moat/internal/admin"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
)

// Lifecycle is how serve and controller stop and re-read.
type Lifecycle struct {
	// ShutdownGracePeriod is how long, once ctx is done, /readyz fails
	// while the listeners keep accepting and serving, so that endpoints
	// are withdrawn before anything is refused (--shutdown-grace-period).
	// A ctx cancelled with cause ErrInterrupted skips it.
	ShutdownGracePeriod time.Duration
	// ShutdownTimeout bounds the drain that follows; zero means the
	// controller ConfigMap's worker-shutdown-timeout (default 240 s).
	ShutdownTimeout time.Duration
	// Reread, when set, receives one value per request to read
	// everything again (SIGHUP): in file mode every manifest, in cluster
	// mode the controller ConfigMap; nothing stops serving meanwhile.
	Reread <-chan struct{}
}

// ErrInterrupted is the cause of a ctx cancelled by an interactive
// interrupt (SIGINT): the drain starts at once, without the grace period,
// which only matters behind a load balancer.
var ErrInterrupted = errors.New("interrupted")

// stopper runs the shutdown phases. run is the context of everything
// (sources, reconcile loop, admin listener), traffic that of the traffic
// listeners: it ends after the grace period, and run after the drain.
type stopper struct {
	log     *slog.Logger
	p       *plane
	adm     *admin.Server
	grace   time.Duration
	timeout func() time.Duration

	run         context.Context
	stopRun     context.CancelFunc
	traffic     context.Context
	stopTraffic context.CancelFunc
}

// newStopper derives the contexts from ctx's values (not its
// cancellation, which starts the shutdown instead) and returns them with
// the errgroup the components run in.
func newStopper(ctx context.Context, p *plane, adm *admin.Server, log *slog.Logger, lc Lifecycle, timeout func() time.Duration) (*stopper, *errgroup.Group, context.Context) {
	s := &stopper{log: log, p: p, adm: adm, grace: lc.ShutdownGracePeriod, timeout: timeout}
	s.run, s.stopRun = context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(s.run)
	// A failing component still stops the traffic listeners at once.
	s.traffic, s.stopTraffic = context.WithCancel(gctx)
	g.Go(func() error { return s.shutdown(ctx, gctx) })
	return s, g, gctx
}

// shutdown waits for ctx, then: /readyz fails and the listeners serve on
// for the grace period; then the data plane drains (dataplane.drain);
// then everything else stops.
func (s *stopper) shutdown(ctx, gctx context.Context) error {
	defer s.stopRun()
	select {
	case <-gctx.Done(): // a component failed; the errgroup reports it
		return nil
	case <-ctx.Done():
	}
	s.adm.ShuttingDown()
	cause := context.Cause(ctx)
	grace := s.grace
	if errors.Is(cause, ErrInterrupted) {
		grace = 0
	}
	s.log.Info("shutdown: /readyz fails from now on; the listeners keep serving for the grace period",
		"cause", cause.Error(), "grace_period", grace.String())
	if grace > 0 {
		t := time.NewTimer(grace)
		select {
		case <-t.C:
		case <-gctx.Done():
		}
		t.Stop()
	}
	s.p.dp.SetShutdownTimeout(s.timeout())
	s.stopTraffic()
	// Serve returns once drained; if it never started (caches never
	// synced), there is nothing to drain.
	if s.p.trafficStarted.Load() {
		select {
		case <-s.p.trafficDone:
		case <-gctx.Done():
		}
	}
	s.log.Info("shutdown: stopping")
	return nil
}

// reread calls f for every value on c until ctx is done.
func reread(ctx context.Context, c <-chan struct{}, log *slog.Logger, what string, f func()) error {
	if c == nil {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-c:
			if !ok {
				return nil
			}
			log.Info("re-reading on request (SIGHUP); serving goes on", "what", what)
			f()
		}
	}
}

// noLimit stands for worker-shutdown-timeout 0: the kubelet's
// terminationGracePeriodSeconds is then the only bound.
const noLimit = 100 * 365 * 24 * time.Hour

// shutdownTimeout is the drain's bound: set, or the controller
// ConfigMap's worker-shutdown-timeout as the store holds it now.
func shutdownTimeout(set time.Duration, st *store.Store, opts translate.Options) func() time.Duration {
	return func() time.Duration {
		if set > 0 {
			return set
		}
		c, _ := translate.ControllerConfig(st.Snapshot(), opts)
		if c.WorkerShutdownTimeout == 0 {
			return noLimit
		}
		return c.WorkerShutdownTimeout
	}
}
