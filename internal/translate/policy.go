package translate

import (
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/registry"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// policyFor parses the route-level annotation families of one Ingress into
// the policy its routes share; nil when no family is set. Each family's
// Parse reports bad values through r. HTTP behaviour families (redirects,
// CORS, access, auth, headers) are parsed in policy_http.go, traffic
// families (canary, affinity, balancing, limits, timeouts, retries) in
// policy_traffic.go.
func (t *translator) policyFor(r *annotations.Reader, ing *networkingv1.Ingress) *routecfg.RoutePolicy {
	r.Diags = append(r.Diags, annotations.CheckNeeds(r.Prefix, r.Annotations, r.Object, registry.Known())...)
	p := &routecfg.RoutePolicy{}
	set := t.httpPolicies(r, ing, p)
	set = t.trafficPolicies(r, ing, p) || set
	if !set {
		return nil
	}
	return p
}
