package gateway

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/translate/gateway/listener"
)

// Precedence across routes of one host: Exact before any prefix, the
// longer prefix first, method before headers before query parameters,
// then the older route, whatever the order the objects come in.
func TestPrecedence(t *testing.T) {
	manifests := classAndGateway + `apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a-newer, namespace: ns, creationTimestamp: "2026-02-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw}]
  hostnames: [h.example]
  rules:
  - matches: [{path: {type: PathPrefix, value: /a}}]
    backendRefs: [{name: s, port: 80}]
  - matches:
    - {path: {type: PathPrefix, value: /a}, queryParams: [{name: q, value: "1"}]}
    - {path: {type: PathPrefix, value: /a}, headers: [{name: h, value: "1"}]}
    - {path: {type: PathPrefix, value: /a}, method: GET}
    backendRefs: [{name: s, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: z-older, namespace: ns, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw}]
  hostnames: [h.example]
  rules:
  - matches: [{path: {type: PathPrefix, value: /a}}]
    backendRefs: [{name: s, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /a/b}}, {path: {type: Exact, value: /z}}]
    backendRefs: [{name: s, port: 80}]
`
	sn := decodeWorld(t, manifests)
	out := Translate(sn, Options{}, nil)
	if len(out.Hosts) != 1 {
		t.Fatalf("hosts: %+v", out.Hosts)
	}
	var got []string
	for _, rt := range out.Hosts[0].Routes {
		c := rt.Conditions
		got = append(got, fmt.Sprintf("%s %s m=%s h=%d q=%d %s", rt.Match, rt.Path, c.Method, len(c.Headers), len(c.Query), rt.Source.Ingress))
	}
	want := []string{
		"Exact /z m= h=0 q=0 z-older",
		"Prefix /a/b m= h=0 q=0 z-older",
		"Prefix /a m=GET h=0 q=0 a-newer",
		"Prefix /a m= h=1 q=0 a-newer",
		"Prefix /a m= h=0 q=1 a-newer",
		"Prefix /a m= h=0 q=0 z-older",
		"Prefix /a m= h=0 q=0 a-newer",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Listeners on one port: HTTPS and TLS Passthrough share it when their
// hostnames differ (SNI tells them apart); the same hostname conflicts,
// and HTTP beside them is another protocol. TLSRoute and GRPCRoute attach
// to the listeners of their protocol only.
func TestListenersAndRouteKinds(t *testing.T) {
	manifests := `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: v1
kind: Secret
metadata: {name: cert, namespace: ns}
type: kubernetes.io/tls
data: {tls.crt: "", tls.key: ""}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: moat
  listeners:
  - {name: https, protocol: HTTPS, port: 443, hostname: "*.example.com", tls: {certificateRefs: [{name: cert}]}}
  - {name: pass, protocol: TLS, port: 443, hostname: abc.example.com, tls: {mode: Passthrough}}
  - {name: pass-same, protocol: TLS, port: 8443, hostname: x.example.com, tls: {mode: Passthrough}}
  - {name: https-same, protocol: HTTPS, port: 8443, hostname: x.example.com, tls: {certificateRefs: [{name: cert}]}}
  - {name: http, protocol: HTTP, port: 9443}
  - {name: pass-http, protocol: TLS, port: 9443, hostname: y.example.com, tls: {mode: Passthrough}}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: t, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [abc.example.com, other.example.com]
  rules: [{backendRefs: [{name: s, port: 80, weight: 2}, {name: nosuch, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [rpc.example.com]
  rules: [{backendRefs: [{name: s, port: 80}]}]
`
	sn := decodeWorld(t, manifests)
	out := Translate(sn, Options{}, nil)
	var got []string
	for _, l := range out.Status.Gateways["ns/gw"].Listeners {
		got = append(got, fmt.Sprintf("%s %s %s attached=%d", l.Name, l.Conditions[1].Reason, l.Conditions[3].Reason, l.AttachedRoutes))
	}
	want := []string{
		"https Programmed NoConflicts attached=1",
		"pass Programmed NoConflicts attached=1",
		"pass-same Invalid HostnameConflict attached=0",
		"https-same Invalid HostnameConflict attached=0",
		"http Invalid ProtocolConflict attached=0",
		"pass-http Invalid ProtocolConflict attached=0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("listeners:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var hosts []string
	for _, h := range out.Hosts {
		s := h.Name
		if p := h.Passthrough; p != nil {
			s += fmt.Sprintf(" passthrough=%s %v", p.Pool, p.Backends)
		}
		for _, rt := range h.Routes {
			s += fmt.Sprintf(" %s %s %v", rt.Match, rt.Path, rt.Backends)
		}
		hosts = append(hosts, s)
	}
	wantHosts := []string{
		"abc.example.com passthrough=ns/s:80 [{ns/s:80 2 0 <nil>} { 1 0 <nil>}]",
		"rpc.example.com Prefix / [{ns/s:80#GRPC 1 0 <nil>}]",
	}
	if strings.Join(hosts, "\n") != strings.Join(wantHosts, "\n") {
		t.Errorf("hosts:\n%s\nwant:\n%s", strings.Join(hosts, "\n"), strings.Join(wantHosts, "\n"))
	}
	if st := out.Status.TLSRoutes["ns/t"]; len(st.Parents) != 1 || st.Parents[0].Conditions[1].Reason != "BackendNotFound" {
		t.Errorf("TLSRoute status: %+v", st)
	}
}

// Two TLSRoutes passing one hostname through: the older keeps it.
func TestTLSRouteHostnameConflict(t *testing.T) {
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
  listeners: [{name: pass, protocol: TLS, port: 443, tls: {mode: Passthrough}}]
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {ports: [{port: 80}, {port: 81}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: a-newer, namespace: ns, creationTimestamp: "2026-02-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw}]
  hostnames: [h.example]
  rules: [{backendRefs: [{name: s, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: z-older, namespace: ns, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw}]
  hostnames: [h.example]
  rules: [{backendRefs: [{name: s, port: 81}]}]
`
	sn := decodeWorld(t, manifests)
	out := Translate(sn, Options{}, nil)
	if len(out.Hosts) != 1 || out.Hosts[0].Passthrough == nil || out.Hosts[0].Passthrough.Pool != "ns/s:81" {
		t.Fatalf("hosts: %+v, want h.example passed to the older route's ns/s:81", out.Hosts)
	}
	found := false
	for _, d := range out.Diags {
		found = found || d.Reason == "HostnameConflict" && d.Object.Name == "a-newer"
	}
	if !found {
		t.Errorf("no HostnameConflict for the newer route: %v", out.Diags)
	}
}

// allowedRoutes.namespaces.from Selector matches the labels of the
// route's Namespace (the conformance base Gateway backend-namespaces);
// an undeclared namespace has only kubernetes.io/metadata.name; an
// invalid selector leaves the listener unaccepted.
func TestNamespaceSelector(t *testing.T) {
	manifests := `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: moat
  listeners:
  - name: backend
    protocol: HTTP
    port: 80
    hostname: backend.example
    allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {role: backend}}}}
  - name: byname
    protocol: HTTP
    port: 80
    hostname: byname.example
    allowedRoutes:
      namespaces:
        from: Selector
        selector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [undeclared]}]}
  - name: bad
    protocol: HTTP
    port: 80
    hostname: bad.example
    allowedRoutes: {namespaces: {from: Selector, selector: {matchExpressions: [{key: role, operator: Bogus}]}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {role: backend}}
---
apiVersion: v1
kind: Namespace
metadata: {name: web, labels: {role: frontend}}
`
	for _, r := range []struct{ name, ns, section string }{
		{"in", "app", "backend"}, {"out", "web", "backend"}, {"infra", "infra", "backend"},
		{"named", "undeclared", "byname"}, {"notnamed", "app", "byname"},
	} {
		manifests += fmt.Sprintf(`---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %s, namespace: %s}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: %s}]
  rules: [{backendRefs: [{name: s, port: 80}]}]
`, r.name, r.ns, r.section)
	}
	sn := decodeWorld(t, manifests)
	out := Translate(sn, Options{}, nil)
	for route, want := range map[string]string{
		"app/in": "Accepted", "web/out": "NotAllowedByListeners", "infra/infra": "NotAllowedByListeners",
		"undeclared/named": "Accepted", "app/notnamed": "NotAllowedByListeners",
	} {
		ps := out.Status.HTTPRoutes[route].Parents
		if len(ps) != 1 || ps[0].Conditions[0].Type != "Accepted" || ps[0].Conditions[0].Reason != want {
			t.Errorf("route %s: parents %+v, want Accepted reason %s", route, ps, want)
		}
	}
	var hosts []string
	for _, h := range out.Hosts {
		hosts = append(hosts, h.Name)
	}
	if strings.Join(hosts, " ") != "backend.example byname.example" {
		t.Errorf("hosts %q", hosts)
	}
	gs := out.Status.Gateways["infra/gw"]
	if len(gs.Listeners) != 3 {
		t.Fatalf("listeners %+v", gs.Listeners)
	}
	for i, want := range []string{"Accepted", "Accepted", "UnsupportedValue"} {
		if c := gs.Listeners[i].Conditions[0]; c.Reason != want {
			t.Errorf("listener %s: Accepted %s/%s, want %s", gs.Listeners[i].Name, c.Status, c.Reason, want)
		}
	}
	if a := gs.Listeners[0].AttachedRoutes; a != 1 {
		t.Errorf("listener backend attachedRoutes = %d, want 1", a)
	}
	found := false
	for _, d := range out.Diags {
		if d.Field == "spec.listeners[2].allowedRoutes.namespaces.selector" && strings.Contains(d.Message, "Bogus") {
			found = true
		}
	}
	if !found {
		t.Errorf("no diagnostic for the invalid selector: %v", out.Diags)
	}
}

// A TLS listener in mode Terminate (the default mode) takes TLSRoutes:
// their hosts are decrypted with the listener's certificate and the
// stream forwarded; one without certificateRefs is not programmed.
func TestTLSTerminate(t *testing.T) {
	manifests := `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: v1
kind: Secret
metadata: {name: cert, namespace: ns}
type: kubernetes.io/tls
data: {tls.crt: "", tls.key: ""}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: moat
  listeners:
  - {name: term, protocol: TLS, port: 443, hostname: t.example.com, tls: {certificateRefs: [{name: cert}]}}
  - {name: pass, protocol: TLS, port: 443, hostname: p.example.com, tls: {mode: Passthrough}}
  - {name: nocert, protocol: TLS, port: 8443, tls: {mode: Terminate}}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [t.example.com, p.example.com]
  rules: [{backendRefs: [{name: s, port: 80}]}]
`
	sn := decodeWorld(t, manifests)
	out := Translate(sn, Options{}, nil)
	var got []string
	for _, l := range out.Status.Gateways["ns/gw"].Listeners {
		got = append(got, fmt.Sprintf("%s %s %s %v attached=%d", l.Name, l.Conditions[0].Reason, l.Conditions[2].Reason, listener.KindNames(l.SupportedKinds), l.AttachedRoutes))
	}
	want := []string{
		"term Accepted ResolvedRefs TLSRoute attached=1",
		"pass Accepted ResolvedRefs TLSRoute attached=1",
		// Counted though not served, as GatewayWithAttachedRoutes wants.
		"nocert Accepted InvalidCertificateRef TLSRoute attached=1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("listeners:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var hosts []string
	for _, h := range out.Hosts {
		hosts = append(hosts, fmt.Sprintf("%s terminate=%t cert=%s pool=%s", h.Name, h.Passthrough.Terminate, h.Certificate, h.Passthrough.Pool))
	}
	wantHosts := []string{"p.example.com terminate=false cert= pool=ns/s:80", "t.example.com terminate=true cert=ns/cert pool=ns/s:80"}
	slices.Sort(hosts)
	if strings.Join(hosts, "\n") != strings.Join(wantHosts, "\n") {
		t.Errorf("hosts:\n%s\nwant:\n%s", strings.Join(hosts, "\n"), strings.Join(wantHosts, "\n"))
	}
}
