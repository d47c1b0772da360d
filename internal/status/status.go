// Package status is the leader-only writer: it publishes moat's address in
// status.loadBalancer.ingress of every claimed Ingress and turns
// diagnostics about Ingresses into Warning Events. It reads reconcile
// results and never feeds anything back into translate.
package status

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/reconcile"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
)

// FieldManager names moat's writes in managedFields.
const FieldManager = "moat"

// Options configures a Writer.
type Options struct {
	Client kubernetes.Interface
	// Gateway, when set, writes Gateway API status (gateway.go).
	Gateway gatewayclient.Interface
	// Addresses is what to publish; nil leaves status alone (no
	// --publish-service or --publish-status-address).
	Addresses Addresses
	// Recorder receives Warning Events; nil disables them.
	Recorder record.EventRecorder
	// Translate are the options the reconcile loop uses, to decide which
	// Ingresses are claimed.
	Translate translate.Options
	Log       *slog.Logger
	// Registerer, when set, receives the writer's metrics.
	Registerer prometheus.Registerer
	// ListenerError, when set, is why the data plane could not bind a
	// Gateway's own address and port (--gateway-address-pool); such a
	// listener is written Programmed=False.
	ListenerError func(netip.AddrPort) error
}

// Writer keeps Ingress status and Events in line with the latest
// reconcile result while Lead runs.
type Writer struct {
	opts   Options
	log    *slog.Logger
	latest atomic.Pointer[reconcile.Result]
	kick   chan struct{}

	leading prometheus.Gauge
	updates prometheus.Counter
	events  prometheus.Counter

	// leadMu keeps leadership terms from overlapping: a new term's Lead
	// waits for the last one to return.
	leadMu sync.Mutex
	mu     sync.Mutex
	// wrote remembers, per Ingress, the resourceVersion a write started
	// from and what it wrote, so that a snapshot older than the write
	// (the informer lags) does not cause the same write again.
	wrote map[string]written
}

type written struct {
	fromRV string
	lb     []networkingv1.IngressLoadBalancerIngress
}

// New returns a Writer.
func New(opts Options) *Writer {
	w := &Writer{opts: opts, log: opts.Log, kick: make(chan struct{}, 1), wrote: map[string]written{}}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.leading = prometheus.NewGauge(prometheus.GaugeOpts{Name: "moat_leader", Help: "1 while this replica holds the leader lease and writes status."})
	w.updates = prometheus.NewCounter(prometheus.CounterOpts{Name: "moat_status_updates_total", Help: "Ingress status updates written."})
	w.events = prometheus.NewCounter(prometheus.CounterOpts{Name: "moat_events_total", Help: "Warning Events emitted for Ingress diagnostics."})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(w.leading, w.updates, w.events)
	}
	return w
}

// Observe records a reconcile result; it never blocks.
func (w *Writer) Observe(r reconcile.Result) {
	w.latest.Store(&r)
	w.Kick()
}

// Kick asks for a pass, e.g. after the publish address changed.
func (w *Writer) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Lead writes status and Events until ctx is done; run it only while this
// replica holds the lease. A failed pass is retried with backoff (the API
// server may be away), and every new result or Kick starts a new pass.
func (w *Writer) Lead(ctx context.Context) {
	w.leadMu.Lock()
	defer w.leadMu.Unlock()
	w.leading.Set(1)
	defer w.leading.Set(0)
	// Events are de-duplicated per leadership term: a new leader reports
	// each standing problem once.
	seen := map[string]bool{}
	w.mu.Lock()
	clear(w.wrote)
	w.mu.Unlock()
	const minBackoff, maxBackoff = 500 * time.Millisecond, 10 * time.Second
	backoff := minBackoff
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-retry.C:
		}
		r := w.latest.Load()
		if r == nil {
			continue
		}
		if err := w.sync(ctx, r, seen); err != nil {
			if ctx.Err() != nil {
				return
			}
			w.log.Warn("status update failed; retrying", "retry_in_ms", float64(backoff.Microseconds())/1000, "err", err)
			retry.Reset(backoff)
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
	}
}

// sync brings every Ingress of the snapshot in line and emits Events.
func (w *Writer) sync(ctx context.Context, r *reconcile.Result, seen map[string]bool) error {
	claimed := translate.Claimed(r.Snapshot, w.opts.Translate)
	w.emitEvents(r, claimed, seen)
	gwErr := w.syncGateway(ctx, r)
	if w.opts.Addresses == nil {
		return gwErr
	}
	addrs, known := w.opts.Addresses.Addresses()
	if !known {
		return gwErr
	}
	errs := []error{gwErr}
	for _, ing := range r.Snapshot.Ingresses {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		key := ing.Namespace + "/" + ing.Name
		want := func(cur []networkingv1.IngressLoadBalancerIngress) []networkingv1.IngressLoadBalancerIngress {
			if claimed[key] {
				return addrs
			}
			// No longer ours: take out only our own entries, another
			// controller may have published its own.
			return slices.DeleteFunc(normalize(cur), func(e networkingv1.IngressLoadBalancerIngress) bool {
				return slices.ContainsFunc(addrs, func(a networkingv1.IngressLoadBalancerIngress) bool { return sameEntry(a, e) })
			})
		}
		cur := ing.Status.LoadBalancer.Ingress
		target := want(cur)
		if equal(cur, target) || w.alreadyWrote(key, ing.ResourceVersion, target) {
			continue
		}
		if err := w.update(ctx, ing, want); err != nil {
			errs = append(errs, fmt.Errorf("ingress %s: writing status: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

func (w *Writer) alreadyWrote(key, rv string, lb []networkingv1.IngressLoadBalancerIngress) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.wrote[key]
	return ok && p.fromRV == rv && equal(p.lb, lb)
}

// update writes status from the cached object first (usually current) and,
// on a conflict, from a fresh read, comparing again before each write.
func (w *Writer) update(ctx context.Context, ing *networkingv1.Ingress, want func([]networkingv1.IngressLoadBalancerIngress) []networkingv1.IngressLoadBalancerIngress) error {
	client := w.opts.Client.NetworkingV1().Ingresses(ing.Namespace)
	obj := ing.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		target := want(obj.Status.LoadBalancer.Ingress)
		if equal(obj.Status.LoadBalancer.Ingress, target) {
			return nil
		}
		from := obj.ResourceVersion
		obj.Status.LoadBalancer.Ingress = target
		_, err := client.UpdateStatus(ctx, obj, metav1.UpdateOptions{FieldManager: FieldManager})
		if err == nil {
			w.updates.Inc()
			w.mu.Lock()
			w.wrote[ing.Namespace+"/"+ing.Name] = written{fromRV: from, lb: target}
			w.mu.Unlock()
			w.log.Info("ingress status updated", "kind", "Ingress", "namespace", ing.Namespace, "name", ing.Name, "addresses", lbString(target))
			return nil
		}
		if apierrors.IsConflict(err) {
			fresh, gerr := client.Get(ctx, ing.Name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			obj = fresh
		}
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil // deleted meanwhile: nothing to publish
	}
	return err
}

func equal(a, b []networkingv1.IngressLoadBalancerIngress) bool {
	if len(a) != len(b) {
		return false
	}
	return slices.EqualFunc(normalize(a), normalize(b), sameEntry)
}

func lbString(l []networkingv1.IngressLoadBalancerIngress) []string {
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, e.IP+e.Hostname)
	}
	return out
}

// maxEventMessage keeps Event messages within the API's 1 KiB note limit.
const maxEventMessage = 1024

// emitEvents records a Warning Event for each diagnostic of at least
// warning severity about a claimed Ingress, once while it persists: an
// unchanged problem does not produce an Event on every reconcile, and a
// fixed one produces none.
func (w *Writer) emitEvents(r *reconcile.Result, claimed map[string]bool, seen map[string]bool) {
	if w.opts.Recorder == nil {
		return
	}
	byKey := make(map[string]*networkingv1.Ingress, len(r.Snapshot.Ingresses))
	for _, ing := range r.Snapshot.Ingresses {
		byKey[ing.Namespace+"/"+ing.Name] = ing
	}
	now := map[string]bool{}
	for _, d := range r.Diagnostics {
		if d.Severity < diag.Warning {
			continue
		}
		key := d.Object.Namespace + "/" + d.Object.Name
		var obj runtime.Object
		var uid string
		switch d.Object.Kind {
		case "Ingress":
			ing := byKey[key]
			if ing == nil || !claimed[key] {
				continue
			}
			obj, uid = ing, string(ing.UID)
		case store.KindGateway, store.KindHTTPRoute, store.KindGatewayClass:
			// Gateway API objects: translate reports only those of
			// moat's GatewayClasses and Gateways.
			o, ok := r.Snapshot.GatewayAPI[store.Key{Kind: d.Object.Kind, Namespace: d.Object.Namespace, Name: d.Object.Name}]
			m, isMeta := o.(metav1.Object)
			if !ok || !isMeta {
				continue
			}
			obj, uid = o, string(m.GetUID())
		default:
			continue
		}
		// The UID is part of the key: a re-created object hears again.
		id := uid + " " + d.String()
		now[id] = true
		if seen[id] {
			continue
		}
		msg := d.Message
		if d.Field != "" {
			msg = d.Field + ": " + msg
		}
		if d.Hint != "" {
			msg += " (hint: " + d.Hint + ")"
		}
		if len(msg) > maxEventMessage {
			msg = msg[:maxEventMessage-3] + "..."
		}
		w.opts.Recorder.Event(obj, corev1.EventTypeWarning, d.Reason, msg)
		w.events.Inc()
	}
	clear(seen)
	for k := range now {
		seen[k] = true
	}
}
