package gateway

import (
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/gateway/httprule"
)

// grpcRoute serves a GRPCRoute as the HTTPRoute it amounts to: a gRPC
// call is a POST to /package.Service/Method, so a method match becomes a
// path match (service and method: Exact path; service only: the
// /package.Service prefix; otherwise a regular expression), header
// matches and header filters carry over, and the backends are spoken to
// in h2c. Precedence is then the HTTPRoute one, which orders a longer
// service and method first as GRPCRoute asks.
func (t *translator) grpcRoute(gr *gatewayv1.GRPCRoute) {
	hr := &gatewayv1.HTTPRoute{ObjectMeta: gr.ObjectMeta}
	hr.Spec.CommonRouteSpec, hr.Spec.Hostnames = gr.Spec.CommonRouteSpec, gr.Spec.Hostnames
	bad := map[int]problemAt{}
	for ri, r := range gr.Spec.Rules {
		field := fmt.Sprintf("spec.rules[%d]", ri)
		var rule gatewayv1.HTTPRouteRule
		for mi, m := range r.Matches {
			hm := gatewayv1.HTTPRouteMatch{}
			for _, h := range m.Headers {
				typ := gatewayv1.HeaderMatchExact
				if h.Type != nil && *h.Type == gatewayv1.GRPCHeaderMatchRegularExpression {
					typ = gatewayv1.HeaderMatchRegularExpression
				}
				hm.Headers = append(hm.Headers, gatewayv1.HTTPHeaderMatch{Type: &typ, Name: gatewayv1.HTTPHeaderName(h.Name), Value: h.Value})
			}
			p, err := httprule.MethodPath(m.Method)
			if err != "" {
				if _, dup := bad[ri]; !dup {
					bad[ri] = problemAt{"UnsupportedValue", err, fmt.Sprintf("%s.matches[%d].method", field, mi)}
				}
				continue
			}
			hm.Path = p
			rule.Matches = append(rule.Matches, hm)
		}
		for _, f := range r.Filters {
			rule.Filters = append(rule.Filters, gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterType(f.Type),
				RequestHeaderModifier: f.RequestHeaderModifier, ResponseHeaderModifier: f.ResponseHeaderModifier})
		}
		for _, br := range r.BackendRefs {
			hb := gatewayv1.HTTPBackendRef{BackendRef: br.BackendRef}
			for _, f := range br.Filters {
				hb.Filters = append(hb.Filters, gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterType(f.Type)})
			}
			rule.BackendRefs = append(rule.BackendRefs, hb)
		}
		hr.Spec.Rules = append(hr.Spec.Rules, rule)
	}
	if st, ok := t.serveHTTP(hr, store.KindGRPCRoute, bad); ok {
		t.out.Status.GRPCRoutes[gr.Namespace+"/"+gr.Name] = gatewayv1.GRPCRouteStatus{RouteStatus: st}
	}
}
