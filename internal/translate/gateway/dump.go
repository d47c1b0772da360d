package gateway

import (
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
		fmt.Fprintf(&b, "gateway %s%s\n", k, conds(st.Conditions))
		for _, l := range st.Listeners {
			var kinds []string
			for _, k := range l.SupportedKinds {
				kinds = append(kinds, string(k.Kind))
			}
			fmt.Fprintf(&b, "  listener %s kinds=[%s] attached=%d%s\n", l.Name, strings.Join(kinds, ","), l.AttachedRoutes, conds(l.Conditions))
		}
	}
	for _, k := range sorted(s.HTTPRoutes) {
		fmt.Fprintf(&b, "httproute %s\n", k)
		for _, p := range s.HTTPRoutes[k].Parents {
			sec := ""
			if p.ParentRef.SectionName != nil {
				sec = "/" + string(*p.ParentRef.SectionName)
			}
			fmt.Fprintf(&b, "  parent %s%s%s\n", p.ParentRef.Name, sec, conds(p.Conditions))
		}
	}
	for _, k := range sorted(s.GRPCRoutes) {
		fmt.Fprintf(&b, "grpcroute %s\n", k)
		for _, p := range s.GRPCRoutes[k].Parents {
			sec := ""
			if p.ParentRef.SectionName != nil {
				sec = "/" + string(*p.ParentRef.SectionName)
			}
			fmt.Fprintf(&b, "  parent %s%s%s\n", p.ParentRef.Name, sec, conds(p.Conditions))
		}
	}
	for _, k := range sorted(s.TLSRoutes) {
		fmt.Fprintf(&b, "tlsroute %s\n", k)
		for _, p := range s.TLSRoutes[k].Parents {
			sec := ""
			if p.ParentRef.SectionName != nil {
				sec = "/" + string(*p.ParentRef.SectionName)
			}
			fmt.Fprintf(&b, "  parent %s%s%s\n", p.ParentRef.Name, sec, conds(p.Conditions))
		}
	}
	return b.String()
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
