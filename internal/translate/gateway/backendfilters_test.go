package gateway

import (
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
)

// Header modifiers every backendRef of a rule carries alike apply to the
// whole rule (HTTPRouteBackendRequestHeaderModifier); differing ones need
// per-backend filters, which the data plane lacks, and drop the rule.
func TestBackendRefHeaderFilters(t *testing.T) {
	manifests := `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {ports: [{port: 80}, {port: 81}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: same, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [same.example]
  rules:
  - backendRefs:
    - name: s
      port: 80
      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-B, value: b}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: differ, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [differ.example]
  rules:
  - backendRefs:
    - {name: s, port: 80, filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-B, value: "80"}]}}]}
    - {name: s, port: 81, filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-B, value: "81"}]}}]}
`
	objs, diags := k8s.Decode([]byte(manifests), "c.yaml")
	if len(diags) > 0 {
		t.Fatalf("decode: %v", diags)
	}
	out := Translate(store.FromObjects(objs, nil), Options{}, nil)
	var same *Host
	for _, h := range out.Hosts {
		if h.Name == "same.example" {
			same = h
		}
		if h.Name == "differ.example" && len(h.Routes) > 0 && h.Routes[0].Pool != "" {
			t.Errorf("differ.example: the rule with differing backendRef filters is served: %+v", h.Routes[0])
		}
	}
	if same == nil || len(same.Routes) != 1 || same.Routes[0].Policy == nil || same.Routes[0].Policy.Headers == nil ||
		len(same.Routes[0].Policy.Headers.Upstream) != 1 || same.Routes[0].Policy.Headers.Upstream[0].Value != "b" {
		t.Fatalf("same.example: want one route setting X-B: b upstream, got %+v", same)
	}
	st := out.Status.HTTPRoutes["ns/differ"]
	if len(st.Parents) != 1 || !strings.Contains(st.Parents[0].Conditions[0].Message, "backendRef") {
		t.Errorf("differ: want a condition naming the backendRef filters, got %+v", st.Parents)
	}
	if c := out.Status.HTTPRoutes["ns/same"].Parents[0].Conditions[0]; c.Reason != "Accepted" {
		t.Errorf("same: Accepted reason %s (%s)", c.Reason, c.Message)
	}
}
