package gateway

import (
	"strings"
	"testing"
)

// Header modifiers every backendRef of a rule carries alike apply to the
// whole rule (HTTPRouteBackendRequestHeaderModifier); differing
// RequestHeaderModifiers go with their backend
// (HTTPRouteRequestHeaderModifierBackendWeights); other differing filters
// drop the rule.
func TestBackendRefHeaderFilters(t *testing.T) {
	manifests := classAndGateway + `apiVersion: v1
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
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: other, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [other.example]
  rules:
  - backendRefs:
    - {name: s, port: 80, filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: X-B, value: "80"}]}}]}
    - {name: s, port: 81}
`
	sn := decodeWorld(t, manifests)
	out := Translate(sn, Options{}, nil)
	byName := map[string]*Host{}
	for _, h := range out.Hosts {
		byName[h.Name] = h
	}
	same := byName["same.example"]
	if same == nil || len(same.Routes) != 1 || same.Routes[0].Policy == nil || same.Routes[0].Policy.Headers == nil ||
		len(same.Routes[0].Policy.Headers.Upstream) != 1 || same.Routes[0].Policy.Headers.Upstream[0].Value != "b" {
		t.Fatalf("same.example: want one route setting X-B: b upstream, got %+v", same)
	}
	differ := byName["differ.example"]
	if differ == nil || len(differ.Routes) != 1 || len(differ.Routes[0].Backends) != 2 {
		t.Fatalf("differ.example: want one route with two backends, got %+v", differ)
	}
	for i, want := range []string{"80", "81"} {
		be := differ.Routes[0].Backends[i]
		if be.Headers == nil || len(be.Headers.Upstream) != 1 || be.Headers.Upstream[0].Value != want {
			t.Errorf("differ.example backend %d: headers %+v, want X-B: %s", i, be.Headers, want)
		}
	}
	if differ.Routes[0].Policy != nil && differ.Routes[0].Policy.Headers != nil {
		t.Errorf("differ.example: the backends' headers leaked into the route's: %+v", differ.Routes[0].Policy.Headers)
	}
	for _, name := range []string{"ns/same", "ns/differ"} {
		if c := out.Status.HTTPRoutes[name].Parents[0].Conditions[0]; c.Reason != "Accepted" {
			t.Errorf("%s: Accepted reason %s (%s)", name, c.Reason, c.Message)
		}
	}
	if c := out.Status.HTTPRoutes["ns/other"].Parents[0].Conditions[0]; c.Reason != "UnsupportedValue" || !strings.Contains(c.Message, "backendRef") {
		t.Errorf("other: want UnsupportedValue naming the backendRef filters, got %s (%s)", c.Reason, c.Message)
	}
}
