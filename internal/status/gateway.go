package status

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/reconcile"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate"
	"github.com/moat-ingress/moat/internal/translate/gateway"
)

// syncGateway writes the Gateway API status moat computes
// (translate.GatewayStatus) to the GatewayClasses, Gateways and routes
// (HTTPRoute, GRPCRoute, TLSRoute) and BackendTLSPolicies it owns, when it differs from theirs. A condition whose status, reason,
// message and generation are unchanged keeps its lastTransitionTime, and
// other controllers' parent entries of a route are kept.
func (w *Writer) syncGateway(ctx context.Context, r *reconcile.Result) error {
	if w.opts.Gateway == nil || !gateway.Any(r.Snapshot) {
		return nil
	}
	opts := w.opts.Translate
	opts.Now = time.Now() // lastTransitionTime of a changed condition
	want := translate.GatewayStatus(r.Snapshot, opts)
	if w.opts.ListenerError != nil {
		bindStatus(want, r.Snapshot, w.opts.ListenerError, opts.Now)
	}
	c := w.opts.Gateway.GatewayV1()
	var errs []error
	for name, st := range want.GatewayClasses {
		gc, ok := r.Snapshot.GatewayAPI[store.Key{Kind: store.KindGatewayClass, Name: name}].(*gatewayv1.GatewayClass)
		if !ok {
			continue
		}
		merge := func(cur *gatewayv1.GatewayClass) bool {
			next := cur.Status.DeepCopy()
			mergeConditions(&next.Conditions, st.Conditions)
			next.SupportedFeatures = st.SupportedFeatures
			if equality.Semantic.DeepEqual(&cur.Status, next) {
				return false
			}
			cur.Status = *next
			return true
		}
		errs = append(errs, write(w, ctx, "GatewayClass", "", name, gc.DeepCopy(), merge,
			func(o *gatewayv1.GatewayClass) error {
				_, err := c.GatewayClasses().UpdateStatus(ctx, o, metav1.UpdateOptions{FieldManager: FieldManager})
				return err
			},
			func() (*gatewayv1.GatewayClass, error) { return c.GatewayClasses().Get(ctx, name, metav1.GetOptions{}) }))
	}
	for key, st := range want.Gateways {
		ns, name := split(key)
		gw, ok := r.Snapshot.GatewayAPI[store.Key{Kind: store.KindGateway, Namespace: ns, Name: name}].(*gatewayv1.Gateway)
		if !ok {
			continue
		}
		merge := func(cur *gatewayv1.Gateway) bool {
			next := cur.Status.DeepCopy()
			mergeConditions(&next.Conditions, st.Conditions)
			listeners := make([]gatewayv1.ListenerStatus, 0, len(st.Listeners))
			for _, l := range st.Listeners {
				i := slices.IndexFunc(next.Listeners, func(x gatewayv1.ListenerStatus) bool { return x.Name == l.Name })
				if i >= 0 {
					old := next.Listeners[i].Conditions
					mergeConditions(&old, l.Conditions)
					l.Conditions = old
				}
				listeners = append(listeners, l)
			}
			next.Listeners = listeners
			if st.Addresses != nil {
				next.Addresses = st.Addresses // only moat's own (--gateway-address-pool)
			}
			if equality.Semantic.DeepEqual(&cur.Status, next) {
				return false
			}
			cur.Status = *next
			return true
		}
		errs = append(errs, write(w, ctx, "Gateway", ns, name, gw.DeepCopy(), merge,
			func(o *gatewayv1.Gateway) error {
				_, err := c.Gateways(ns).UpdateStatus(ctx, o, metav1.UpdateOptions{FieldManager: FieldManager})
				return err
			},
			func() (*gatewayv1.Gateway, error) { return c.Gateways(ns).Get(ctx, name, metav1.GetOptions{}) }))
	}
	ours := gatewayv1.GatewayController(w.controllerName())
	for key, st := range want.HTTPRoutes {
		ns, name := split(key)
		hr, ok := r.Snapshot.GatewayAPI[store.Key{Kind: store.KindHTTPRoute, Namespace: ns, Name: name}].(*gatewayv1.HTTPRoute)
		if !ok {
			continue
		}
		errs = append(errs, write(w, ctx, "HTTPRoute", ns, name, hr.DeepCopy(),
			func(cur *gatewayv1.HTTPRoute) bool { return mergeRoute(&cur.Status.RouteStatus, st.RouteStatus, ours) },
			func(o *gatewayv1.HTTPRoute) error {
				_, err := c.HTTPRoutes(ns).UpdateStatus(ctx, o, metav1.UpdateOptions{FieldManager: FieldManager})
				return err
			},
			func() (*gatewayv1.HTTPRoute, error) { return c.HTTPRoutes(ns).Get(ctx, name, metav1.GetOptions{}) }))
	}
	for key, st := range want.GRPCRoutes {
		ns, name := split(key)
		gr, ok := r.Snapshot.GatewayAPI[store.Key{Kind: store.KindGRPCRoute, Namespace: ns, Name: name}].(*gatewayv1.GRPCRoute)
		if !ok {
			continue
		}
		errs = append(errs, write(w, ctx, "GRPCRoute", ns, name, gr.DeepCopy(),
			func(cur *gatewayv1.GRPCRoute) bool { return mergeRoute(&cur.Status.RouteStatus, st.RouteStatus, ours) },
			func(o *gatewayv1.GRPCRoute) error {
				_, err := c.GRPCRoutes(ns).UpdateStatus(ctx, o, metav1.UpdateOptions{FieldManager: FieldManager})
				return err
			},
			func() (*gatewayv1.GRPCRoute, error) { return c.GRPCRoutes(ns).Get(ctx, name, metav1.GetOptions{}) }))
	}
	for key, st := range want.TLSRoutes {
		ns, name := split(key)
		tr, ok := r.Snapshot.GatewayAPI[store.Key{Kind: store.KindTLSRoute, Namespace: ns, Name: name}].(*gatewayv1.TLSRoute)
		if !ok {
			continue
		}
		errs = append(errs, write(w, ctx, "TLSRoute", ns, name, tr.DeepCopy(),
			func(cur *gatewayv1.TLSRoute) bool { return mergeRoute(&cur.Status.RouteStatus, st.RouteStatus, ours) },
			func(o *gatewayv1.TLSRoute) error {
				_, err := c.TLSRoutes(ns).UpdateStatus(ctx, o, metav1.UpdateOptions{FieldManager: FieldManager})
				return err
			},
			func() (*gatewayv1.TLSRoute, error) { return c.TLSRoutes(ns).Get(ctx, name, metav1.GetOptions{}) }))
	}
	// A policy no route of ours reaches any more loses our ancestors.
	for k, o := range r.Snapshot.GatewayAPI {
		p, ok := o.(*gatewayv1.BackendTLSPolicy)
		if _, reached := want.BackendTLSPolicies[k.Namespace+"/"+k.Name]; !ok || reached ||
			!slices.ContainsFunc(p.Status.Ancestors, func(a gatewayv1.PolicyAncestorStatus) bool { return a.ControllerName == ours }) {
			continue
		}
		if want.BackendTLSPolicies == nil {
			want.BackendTLSPolicies = map[string]gatewayv1.PolicyStatus{}
		}
		want.BackendTLSPolicies[k.Namespace+"/"+k.Name] = gatewayv1.PolicyStatus{}
	}
	for key, st := range want.BackendTLSPolicies {
		ns, name := split(key)
		p, ok := r.Snapshot.GatewayAPI[store.Key{Kind: store.KindBackendTLSPolicy, Namespace: ns, Name: name}].(*gatewayv1.BackendTLSPolicy)
		if !ok {
			continue
		}
		errs = append(errs, write(w, ctx, "BackendTLSPolicy", ns, name, p.DeepCopy(),
			func(cur *gatewayv1.BackendTLSPolicy) bool { return mergeAncestors(&cur.Status, st, ours) },
			func(o *gatewayv1.BackendTLSPolicy) error {
				_, err := c.BackendTLSPolicies(ns).UpdateStatus(ctx, o, metav1.UpdateOptions{FieldManager: FieldManager})
				return err
			},
			func() (*gatewayv1.BackendTLSPolicy, error) {
				return c.BackendTLSPolicies(ns).Get(ctx, name, metav1.GetOptions{})
			}))
	}
	return errors.Join(errs...)
}

// mergeAncestors is mergeRoute for a policy's status.ancestors.
func mergeAncestors(cur *gatewayv1.PolicyStatus, want gatewayv1.PolicyStatus, ours gatewayv1.GatewayController) bool {
	next := cur.DeepCopy()
	var out []gatewayv1.PolicyAncestorStatus
	for _, a := range next.Ancestors {
		if a.ControllerName != ours {
			out = append(out, a) // another controller's
		}
	}
	for _, a := range want.Ancestors {
		i := slices.IndexFunc(next.Ancestors, func(x gatewayv1.PolicyAncestorStatus) bool {
			return x.ControllerName == ours && equality.Semantic.DeepEqual(x.AncestorRef, a.AncestorRef)
		})
		if i >= 0 {
			old := next.Ancestors[i].Conditions
			mergeConditions(&old, a.Conditions)
			a.Conditions = old
		}
		out = append(out, a)
	}
	next.Ancestors = out
	if equality.Semantic.DeepEqual(cur, next) {
		return false
	}
	*cur = *next
	return true
}

// mergeRoute puts want's parents (ours) into cur, keeping other
// controllers' entries and the lastTransitionTime of unchanged
// conditions; it reports whether cur changed.
func mergeRoute(cur *gatewayv1.RouteStatus, want gatewayv1.RouteStatus, ours gatewayv1.GatewayController) bool {
	next := cur.DeepCopy()
	var parents []gatewayv1.RouteParentStatus
	for _, p := range next.Parents {
		if p.ControllerName != ours {
			parents = append(parents, p) // another controller's
		}
	}
	for _, p := range want.Parents {
		i := slices.IndexFunc(next.Parents, func(x gatewayv1.RouteParentStatus) bool {
			return x.ControllerName == ours && equality.Semantic.DeepEqual(x.ParentRef, p.ParentRef)
		})
		if i >= 0 {
			old := next.Parents[i].Conditions
			mergeConditions(&old, p.Conditions)
			p.Conditions = old
		}
		parents = append(parents, p)
	}
	next.Parents = parents
	if equality.Semantic.DeepEqual(cur, next) {
		return false
	}
	*cur = *next
	return true
}

func (w *Writer) controllerName() string {
	if n := w.opts.Translate.GatewayControllerName; n != "" {
		return n
	}
	return gateway.DefaultControllerName
}

// write applies merge to obj (the cached copy first, a fresh read after a
// conflict) and writes the status when merge changed it.
func write[T any](w *Writer, ctx context.Context, kind, ns, name string, obj T, merge func(T) bool, update func(T) error, get func() (T, error)) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !merge(obj) {
			return nil
		}
		err := update(obj)
		if err == nil {
			w.updates.Inc()
			w.log.Info("gateway API status updated", "kind", kind, "namespace", ns, "name", name)
			return nil
		}
		if apierrors.IsConflict(err) {
			fresh, gerr := get()
			if gerr != nil {
				return gerr
			}
			obj = fresh
		}
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s/%s: writing status: %w", kind, ns, name, err)
	}
	return nil
}

// mergeConditions makes *cur the conditions of want, keeping the
// transition time of one whose status did not change
// (meta.SetStatusCondition); types not in want are dropped.
func mergeConditions(cur *[]metav1.Condition, want []metav1.Condition) {
	var out []metav1.Condition
	for _, c := range want {
		if old := meta.FindStatusCondition(*cur, c.Type); old != nil {
			out = append(out, *old)
		}
	}
	for _, c := range want {
		meta.SetStatusCondition(&out, c)
	}
	*cur = out
}

func split(key string) (string, string) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}

// bindStatus marks the listeners whose Gateway address and port the data
// plane could not bind (lerr) Programmed=False/Pending: the Gateway's
// other listeners keep serving, and the bind is tried again with the next
// configuration.
func bindStatus(want gateway.Status, sn *store.Snapshot, lerr func(netip.AddrPort) error, now time.Time) {
	for key, st := range want.Gateways {
		if len(st.Addresses) == 0 {
			continue
		}
		ip, err := netip.ParseAddr(st.Addresses[0].Value)
		if err != nil {
			continue
		}
		ns, name := split(key)
		gw, ok := sn.GatewayAPI[store.Key{Kind: store.KindGateway, Namespace: ns, Name: name}].(*gatewayv1.Gateway)
		if !ok {
			continue
		}
		failed, bound := 0, 0
		for i := range st.Listeners {
			ls := &st.Listeners[i]
			j := slices.IndexFunc(gw.Spec.Listeners, func(l gatewayv1.Listener) bool { return l.Name == ls.Name })
			if j < 0 {
				continue
			}
			port := uint16(gw.Spec.Listeners[j].Port)
			c := meta.FindStatusCondition(ls.Conditions, "Programmed")
			if c == nil || c.Status != metav1.ConditionTrue {
				continue
			}
			if err := lerr(netip.AddrPortFrom(ip, port)); err != nil {
				c.Status, c.Reason = metav1.ConditionFalse, "Pending"
				c.Message = fmt.Sprintf("cannot bind %s: %v; tried again with the next configuration", netip.AddrPortFrom(ip, port), err)
				c.LastTransitionTime = metav1.NewTime(now)
				failed++
			} else {
				bound++
			}
		}
		// No port of the Gateway open: the Gateway is not programmed.
		if c := meta.FindStatusCondition(st.Conditions, "Programmed"); failed > 0 && bound == 0 && c != nil && c.Status == metav1.ConditionTrue {
			c.Status, c.Reason = metav1.ConditionFalse, "Pending"
			c.Message = "no listener port could be bound; tried again with the next configuration"
			c.LastTransitionTime = metav1.NewTime(now)
		}
	}
}
