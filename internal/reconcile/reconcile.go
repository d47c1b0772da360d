// Package reconcile runs moat's single loop: a change signal, a hold-off
// that coalesces bursts, an immutable snapshot, translate, and one apply to
// the data plane. Sources never call translate or the data plane directly.
package reconcile

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
)

// Result is what one pass produced; observers (status writer, metrics,
// debug endpoints) receive it after the apply.
type Result struct {
	Snapshot    *store.Snapshot
	Config      *routecfg.Config
	Diagnostics []diag.Diagnostic
	// ApplyErr is non-nil when the data plane refused the configuration;
	// the last good one keeps serving.
	ApplyErr error
	Duration time.Duration
	// EndpointsOnly is set for a pass that only updated pool endpoints,
	// without translate; Diagnostics are the last full pass's.
	EndpointsOnly bool
	// Incremental is set for a pass that translated only the changed
	// Ingresses or HTTPRoutes (translate.UpdateIngresses,
	// translate.UpdateHTTPRoutes).
	Incremental bool
}

// Loop is the reconcile loop. Fields must be set before Run.
type Loop struct {
	Store   *store.Store
	Options translate.Options
	// Now is read once per pass for certificate validity diagnostics.
	Now func() time.Time
	// Apply hands a configuration to the data plane.
	Apply func(*routecfg.Config) error
	// ApplyEndpoints, when set, hands the data plane a configuration
	// that differs from the last applied one only in the endpoints of
	// the named pools (dataplane.ApplyEndpoints); endpoint-only changes
	// then skip translate. An error falls back to a full pass.
	ApplyEndpoints func(cfg *routecfg.Config, pools []string) error
	// Translate is translate.Translate when nil (tests count calls).
	Translate func(*store.Snapshot, translate.Options) (*routecfg.Config, []diag.Diagnostic)
	// Observe, when set, is called after every pass.
	Observe func(Result)
	Log     *slog.Logger
	// HoldOff and MaxDelay shape the passes of a burst. The first change
	// after a quiet spell is reconciled at once (the file source has
	// already debounced it, and informer events need none); changes that
	// arrive during a pass are coalesced into one more pass after HoldOff
	// of quiet (default 100 ms), at most MaxDelay (default 500 ms) after
	// that pass ended.
	HoldOff, MaxDelay time.Duration

	// clock and after replace time.Now and time.After in tests.
	clock func() time.Time
	after func(time.Duration) <-chan time.Time

	applied atomic.Bool
	version atomic.Uint64 // of the last snapshot reconciled
	// last is the last pass applied, when the store's changes since are
	// relative to what is served; nil after a refused apply.
	last   *Result
	fullAt time.Time // when the last full translate that applied started
	// inc is what translate.UpdateIngresses needs of the last translate;
	// nil when Translate is overridden or after a refused apply.
	inc *translate.Incremental
	// logged is what logNew last saw: the set and the list it was built
	// from (translate hands an unchanged list on as the same slice).
	logged     map[diag.Diagnostic]struct{}
	loggedList []diag.Diagnostic
}

// refreshAfter bounds how long endpoint-only passes may reuse the last
// translate's time-dependent output (certificate validity diagnostics).
const refreshAfter = time.Minute

// Applied reports whether a configuration has been applied successfully.
func (l *Loop) Applied() bool { return l.applied.Load() }

// Run reconciles once at start (unless Once already applied a
// configuration) and then after every store change, until
// ctx is done.
func (l *Loop) Run(ctx context.Context) error {
	holdOff, maxDelay := l.HoldOff, l.MaxDelay
	if holdOff <= 0 {
		holdOff = 100 * time.Millisecond
	}
	if maxDelay <= 0 {
		maxDelay = 500 * time.Millisecond
	}
	now, after := l.clock, l.after
	if now == nil {
		now = time.Now
	}
	if after == nil {
		after = time.After
	}
	if !l.Applied() {
		l.Once()
	}
	for {
		// Idle: the first change runs a pass at once (leading edge). A
		// signal for a change the last pass already saw is dropped.
		select {
		case <-ctx.Done():
			return nil
		case <-l.Store.Changed():
		}
		if l.Store.Version() == l.version.Load() {
			continue
		}
		l.Once()
		// Changes made during the pass: a burst is under way; wait for
		// it to settle (trailing edge), at most maxDelay.
		for l.Store.Version() != l.version.Load() {
			// The signal of the changes just seen; only later ones
			// restart the quiet window.
			select {
			case <-l.Store.Changed():
			default:
			}
			first := now()
		wait:
			for {
				rest := maxDelay - now().Sub(first)
				if rest <= 0 {
					break
				}
				select {
				case <-ctx.Done():
					return nil
				case <-l.Store.Changed():
				case <-after(min(holdOff, rest)):
					break wait
				}
			}
			l.Once()
		}
	}
}

// Once runs a single pass synchronously.
func (l *Loop) Once() Result {
	start := time.Now()
	sn, changes := l.Store.SnapshotChanges()
	l.version.Store(sn.Version)
	log := l.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if res, ok := l.endpointsOnly(sn, changes, start, log); ok {
		return res
	}
	opts := l.Options
	if l.Now != nil {
		opts.Now = l.Now()
	}
	var (
		cfg         *routecfg.Config
		diags       []diag.Diagnostic
		incremental bool
	)
	switch {
	case l.Translate != nil:
		cfg, diags = l.Translate(sn, opts)
		l.inc = nil
	default:
		// An Ingress-only change translates just the changed Ingresses
		// when they are isolated from the rest (translate.UpdateIngresses
		// declines otherwise); like the endpoint path, it reuses the last
		// full translate's certificate validity for at most refreshAfter.
		if l.last != nil && l.inc != nil && start.Sub(l.fullAt) <= refreshAfter {
			cfg, diags, incremental = translate.UpdateIngresses(l.inc, l.last.Config, sn, changes, opts)
			if !incremental {
				// An HTTPRoute-only change, the same way.
				cfg, diags, incremental = translate.UpdateHTTPRoutes(l.inc, l.last.Config, sn, changes, opts)
			}
		}
		if !incremental {
			cfg, diags, l.inc = translate.TranslateIncremental(sn, opts)
		}
	}
	// Every diagnostic leaves through here (logs, /debug/diagnostics,
	// metrics, Events): bound the values they repeat and hide passwords.
	diags = diag.Bound(diags)
	err := l.Apply(cfg)
	res := Result{Snapshot: sn, Config: cfg, Diagnostics: diags, ApplyErr: err, Duration: time.Since(start), Incremental: incremental}
	if err != nil {
		// The served config is no longer what the store's changes
		// since this snapshot are relative to, nor is l.inc (which
		// UpdateIngresses advanced).
		l.last, l.inc = nil, nil
		log.Error("configuration refused; the last good configuration keeps serving", "version", sn.Version, "err", err)
	} else {
		l.last = &res
		if !incremental {
			l.fullAt = start
		}
		l.applied.Store(true)
		log.Info("configuration applied", "version", sn.Version, "hosts", len(cfg.VirtualHosts), "pools", len(cfg.Pools),
			"diagnostics", len(diags), "incremental", incremental, "duration_ms", float64(res.Duration.Microseconds())/1000)
	}
	l.logNew(log, diags)
	if l.Observe != nil {
		l.Observe(res)
	}
	return res
}

// endpointsOnly handles a change to EndpointSlices alone without
// translate: the pools that read the changed slices get their new
// endpoints (translate.UpdateEndpoints, the same derivation), and the
// rest of the served configuration stays. EndpointSlice churn is the
// hottest input in a cluster, and a full translate costs 0.4 s at 10,000
// Ingresses. It reports false when a full pass is needed.
func (l *Loop) endpointsOnly(sn *store.Snapshot, c store.Changes, start time.Time, log *slog.Logger) (Result, bool) {
	if l.ApplyEndpoints == nil || l.last == nil || !c.OnlyKind(store.KindEndpointSlice) {
		return Result{}, false
	}
	if start.Sub(l.fullAt) > refreshAfter {
		// Translate reads the clock (certificate validity): under
		// constant endpoint churn a full pass still runs now and then.
		return Result{}, false
	}
	prev := l.last
	// A slice's Service is its label: before the change for a deleted or
	// relabelled slice, after it otherwise.
	services := map[string]bool{}
	for k, before := range c.Keys {
		after, _ := sn.Get(k)
		for _, o := range []store.Object{before, after} {
			if es, ok := o.Obj.(*discoveryv1.EndpointSlice); ok && es.Labels[discoveryv1.LabelServiceName] != "" {
				services[es.Namespace+"/"+es.Labels[discoveryv1.LabelServiceName]] = true
			}
		}
	}
	cfg, pools, ok := translate.UpdateEndpoints(prev.Config, sn, services)
	if !ok {
		return Result{}, false
	}
	if len(pools) > 0 {
		if err := l.ApplyEndpoints(cfg, pools); err != nil {
			log.Warn("endpoint update refused; translating in full", "version", sn.Version, "err", err)
			return Result{}, false
		}
	}
	res := Result{Snapshot: sn, Config: cfg, Diagnostics: prev.Diagnostics, Duration: time.Since(start), EndpointsOnly: true}
	l.last = &res
	log.Info("endpoints updated", "version", sn.Version, "pools", len(pools),
		"duration_ms", float64(res.Duration.Microseconds())/1000)
	if l.Observe != nil {
		l.Observe(res)
	}
	return res, true
}

// logNew logs each diagnostic once while it persists, so an unchanged
// problem does not repeat on every reload. At 10,000 Ingresses with
// thousands of certificate warnings this runs on every change, so the
// unchanged list (the same slice again) costs nothing and the set is
// keyed by the diagnostic itself, not its formatted string.
func (l *Loop) logNew(log *slog.Logger, diags []diag.Diagnostic) {
	if l.logged != nil && sameList(diags, l.loggedList) {
		return
	}
	now := make(map[diag.Diagnostic]struct{}, len(diags))
	for _, d := range diags {
		now[d] = struct{}{}
		if _, seen := l.logged[d]; seen {
			continue
		}
		attrs := []any{"reason", d.Reason, "kind", d.Object.Kind, "namespace", d.Object.Namespace, "name", d.Object.Name}
		if d.Field != "" {
			attrs = append(attrs, "field", d.Field)
		}
		if o := d.Object.Origin.String(); o != "" {
			attrs = append(attrs, "file", o)
		}
		if d.Hint != "" {
			attrs = append(attrs, "hint", d.Hint)
		}
		switch d.Severity {
		case diag.Error:
			log.Error(d.Message, attrs...)
		case diag.Warning:
			log.Warn(d.Message, attrs...)
		default:
			log.Info(d.Message, attrs...)
		}
	}
	l.logged, l.loggedList = now, diags
}

// sameList reports whether a and b are the same slice (diagnostic lists
// are never changed in place once returned).
func sameList(a, b []diag.Diagnostic) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
