package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
)

const mirrorRetryBase = classAndGateway + `apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: m, namespace: ns}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: far, namespace: other}
spec: {ports: [{port: 80}]}
`

// translateRoute translates the base objects plus one HTTPRoute of the
// given rules and returns the routes of host h.example by path.
func translateRoute(t *testing.T, rules string) (map[string]*routecfg.Route, Output) {
	t.Helper()
	m := mirrorRetryBase + `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [h.example]
  rules:
` + rules
	sn := decodeWorld(t, m)
	out := Translate(sn, Options{Timeouts: routecfg.Timeouts{Connect: 5 * time.Second, Read: 60 * time.Second,
		Next: routecfg.NextError | routecfg.NextTimeout, Tries: 3}}, nil)
	routes := map[string]*routecfg.Route{}
	for _, h := range out.Hosts {
		for _, rt := range h.Routes {
			routes[rt.Path] = rt
		}
	}
	return routes, out
}

func diagAt(out Output, field string) *diag.Diagnostic {
	for i, d := range out.Diags {
		if d.Field == field {
			return &out.Diags[i]
		}
	}
	return nil
}

// RequestMirror: every request, a percent, a fraction, several mirrors;
// a mirror whose backend cannot be used is left out (ResolvedRefs
// False), the rule still served; invalid fractions drop the rule.
func TestRequestMirror(t *testing.T) {
	routes, out := translateRoute(t, `
  - matches: [{path: {value: /all}}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}}}]
    backendRefs: [{name: s, port: 80}]
  - matches: [{path: {value: /percent}}]
    filters:
    - {type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}, percent: 20}}
    - {type: RequestMirror, requestMirror: {backendRef: {name: s, port: 80}, fraction: {numerator: 25, denominator: 50}}}
    backendRefs: [{name: s, port: 80}]
  - matches: [{path: {value: /missing}}]
    filters:
    - {type: RequestMirror, requestMirror: {backendRef: {name: nosuch, port: 80}}}
    - {type: RequestMirror, requestMirror: {backendRef: {name: far, namespace: other, port: 80}}}
    backendRefs: [{name: s, port: 80}]
  - matches: [{path: {value: /bad}}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}, fraction: {numerator: 3, denominator: 0}}}]
    backendRefs: [{name: s, port: 80}]
`)
	for path, want := range map[string]string{
		"/all":     "[{ns/m:80 0 0}]",
		"/percent": "[{ns/m:80 20 100} {ns/s:80 25 50}]",
		"/missing": "[]",
	} {
		rt := routes[path]
		if rt == nil {
			t.Errorf("%s not served", path)
			continue
		}
		if got := fmt.Sprint(rt.Mirrors); got != want {
			t.Errorf("%s mirrors %s, want %s", path, got, want)
		}
	}
	if routes["/bad"] != nil {
		t.Errorf("/bad served with fraction 3/0")
	}
	for field, reason := range map[string]string{
		"spec.rules[2].filters[0].requestMirror.backendRef.name":      "BackendNotFound",
		"spec.rules[2].filters[1].requestMirror.backendRef.namespace": "RefNotPermitted",
		"spec.rules[3].filters[0].requestMirror.fraction":             "UnsupportedValue",
	} {
		if d := diagAt(out, field); d == nil || d.Reason != reason {
			t.Errorf("%s: diagnostic %+v, want reason %s", field, d, reason)
		} else if reason != "UnsupportedValue" && !strings.HasSuffix(d.Message, mirrorShare) {
			t.Errorf("%s: message %q", field, d.Message)
		}
	}
	ps := out.Status.HTTPRoutes["ns/r"].Parents
	if len(ps) != 1 || ps[0].Conditions[1].Type != "ResolvedRefs" || ps[0].Conditions[1].Reason != "BackendNotFound" {
		t.Errorf("parents %+v", ps)
	}
}

// retry: codes, attempts (retries, so one try more), backoff, over the
// rule's timeouts; a code the model lacks is warned about; invalid
// values drop the rule.
func TestRetry(t *testing.T) {
	routes, out := translateRoute(t, `
  - matches: [{path: {value: /codes}}]
    retry: {codes: [500, 502, 503, 504, 501], attempts: 3, backoff: 100ms}
    timeouts: {request: 10s, backendRequest: 2s}
    backendRefs: [{name: s, port: 80}]
  - matches: [{path: {value: /connect}}]
    retry: {}
    backendRefs: [{name: s, port: 80}]
  - matches: [{path: {value: /zero}}]
    retry: {attempts: 0}
    backendRefs: [{name: s, port: 80}]
  - matches: [{path: {value: /range}}]
    retry: {codes: [302]}
    backendRefs: [{name: s, port: 80}]
  - matches: [{path: {value: /backoff}}]
    retry: {backoff: 1.5s}
    backendRefs: [{name: s, port: 80}]
`)
	base := routecfg.NextError | routecfg.NextTimeout | routecfg.NextNonIdempotent
	codes := routecfg.NextHTTP500 | routecfg.NextHTTP502 | routecfg.NextHTTP503 | routecfg.NextHTTP504
	for path, want := range map[string]routecfg.Timeouts{
		"/codes": {Connect: 2 * time.Second, Read: 2 * time.Second, Next: base | codes, Tries: 4, NextTimeout: 10 * time.Second,
			Again: true, Backoff: 100 * time.Millisecond},
		"/connect": {Connect: 5 * time.Second, Read: 60 * time.Second, Next: base, Tries: 3, Again: true},
	} {
		rt := routes[path]
		if rt == nil || rt.Policy == nil || rt.Policy.Timeouts == nil {
			t.Errorf("%s: route %+v without timeouts", path, rt)
			continue
		}
		if got := *rt.Policy.Timeouts; got != want {
			t.Errorf("%s: timeouts %+v, want %+v", path, got, want)
		}
	}
	if d := diagAt(out, "spec.rules[0].retry.codes[4]"); d == nil || d.Severity != diag.Warning {
		t.Errorf("code 501: diagnostic %+v, want a warning", d)
	}
	for i, p := range map[int]string{2: "/zero", 3: "/range", 4: "/backoff"} {
		if routes[p] != nil {
			t.Errorf("%s served", p)
		}
		field := map[string]string{"/zero": ".attempts", "/range": ".codes[0]", "/backoff": ".backoff"}[p]
		if d := diagAt(out, fmt.Sprintf("spec.rules[%d].retry%s", i, field)); d == nil || d.Reason != "UnsupportedValue" {
			t.Errorf("%s: diagnostic %+v", p, d)
		}
	}
}
