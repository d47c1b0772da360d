package gateway

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Dump renders a Status as stable text (golden tests, /debug).
func Dump(s Status) string {
	var b strings.Builder
	for _, k := range sorted(s.GatewayClasses) {
		st := s.GatewayClasses[k]
		fmt.Fprintf(&b, "gatewayclass %s%s features=%d\n", k, conds(st.Conditions), len(st.SupportedFeatures))
	}
	for _, k := range sorted(s.Gateways) {
		st := s.Gateways[k]
		fmt.Fprintf(&b, "gateway %s%s%s\n", k, conds(st.Conditions), addresses(st.Addresses))
		for _, l := range st.Listeners {
			var kinds []string
			for _, k := range l.SupportedKinds {
				kinds = append(kinds, string(k.Kind))
			}
			fmt.Fprintf(&b, "  listener %s kinds=[%s] attached=%d%s\n", l.Name, strings.Join(kinds, ","), l.AttachedRoutes, conds(l.Conditions))
		}
	}
	for _, k := range sorted(s.HTTPRoutes) {
		dumpParents(&b, "httproute", k, s.HTTPRoutes[k].Parents)
	}
	for _, k := range sorted(s.GRPCRoutes) {
		dumpParents(&b, "grpcroute", k, s.GRPCRoutes[k].Parents)
	}
	for _, k := range sorted(s.TLSRoutes) {
		dumpParents(&b, "tlsroute", k, s.TLSRoutes[k].Parents)
	}
	for _, k := range sorted(s.BackendTLSPolicies) {
		fmt.Fprintf(&b, "backendtlspolicy %s\n", k)
		for _, a := range s.BackendTLSPolicies[k].Ancestors {
			fmt.Fprintf(&b, "  ancestor %s/%s%s\n", deref(a.AncestorRef.Namespace), a.AncestorRef.Name, conds(a.Conditions))
		}
	}
	return b.String()
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func conds(cs []metav1.Condition) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, " %s=%s/%s@%d", c.Type, c.Status, c.Reason, c.ObservedGeneration)
	}
	return b.String()
}

func sorted[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// dumpParents writes one route's line and its per-parent conditions.
func dumpParents(b *strings.Builder, kind, name string, parents []gatewayv1.RouteParentStatus) {
	fmt.Fprintf(b, "%s %s\n", kind, name)
	for _, p := range parents {
		sec := ""
		if p.ParentRef.SectionName != nil {
			sec = "/" + string(*p.ParentRef.SectionName)
		}
		fmt.Fprintf(b, "  parent %s%s%s\n", p.ParentRef.Name, sec, conds(p.Conditions))
	}
}

// addresses is " addresses=[a,b]", or "" without addresses.
func addresses(as []gatewayv1.GatewayStatusAddress) string {
	if len(as) == 0 {
		return ""
	}
	vs := make([]string, len(as))
	for i, a := range as {
		vs[i] = a.Value
	}
	return " addresses=[" + strings.Join(vs, ",") + "]"
}
