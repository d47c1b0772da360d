// Package reconcile runs moat's single loop: a change signal, a hold-off
// that coalesces bursts, an immutable snapshot, translate, and one apply to
// the data plane. Sources never call translate or the data plane directly.
package reconcile

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

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
}

// Loop is the reconcile loop. Fields must be set before Run.
type Loop struct {
	Store   *store.Store
	Options translate.Options
	// Now is read once per pass for certificate validity diagnostics.
	Now func() time.Time
	// Apply hands a configuration to the data plane.
	Apply func(*routecfg.Config) error
	// Observe, when set, is called after every pass.
	Observe func(Result)
	Log     *slog.Logger
	// HoldOff waits for this much quiet after a change (default 100 ms);
	// MaxDelay bounds the wait from the first change (default 500 ms).
	HoldOff, MaxDelay time.Duration

	applied atomic.Bool
	logged  map[string]bool
}

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
	if !l.Applied() {
		l.Once()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.Store.Changed():
		}
		first := time.Now()
		quiet := time.NewTimer(holdOff)
	wait:
		for {
			select {
			case <-ctx.Done():
				quiet.Stop()
				return nil
			case <-l.Store.Changed():
				rest := maxDelay - time.Since(first)
				if rest <= 0 {
					quiet.Stop()
					break wait
				}
				quiet.Reset(min(holdOff, rest))
			case <-quiet.C:
				break wait
			}
		}
		l.Once()
	}
}

// Once runs a single pass synchronously.
func (l *Loop) Once() Result {
	start := time.Now()
	sn := l.Store.Snapshot()
	opts := l.Options
	if l.Now != nil {
		opts.Now = l.Now()
	}
	cfg, diags := translate.Translate(sn, opts)
	err := l.Apply(cfg)
	res := Result{Snapshot: sn, Config: cfg, Diagnostics: diags, ApplyErr: err, Duration: time.Since(start)}
	log := l.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err != nil {
		log.Error("configuration refused; the last good configuration keeps serving", "version", sn.Version, "err", err)
	} else {
		l.applied.Store(true)
		log.Info("configuration applied", "version", sn.Version, "hosts", len(cfg.VirtualHosts), "pools", len(cfg.Pools),
			"diagnostics", len(diags), "duration_ms", float64(res.Duration.Microseconds())/1000)
	}
	l.logNew(log, diags)
	if l.Observe != nil {
		l.Observe(res)
	}
	return res
}

// logNew logs each diagnostic once while it persists, so an unchanged
// problem does not repeat on every reload.
func (l *Loop) logNew(log *slog.Logger, diags []diag.Diagnostic) {
	now := make(map[string]bool, len(diags))
	for _, d := range diags {
		s := d.String()
		now[s] = true
		if l.logged[s] {
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
	l.logged = now
}
