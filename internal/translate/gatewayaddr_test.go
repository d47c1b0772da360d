package translate

import (
	"net/netip"
	"regexp"
	"testing"

	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
)

// With an address pool, each Gateway's hosts go to its own listeners: two
// Gateways and an Ingress may all serve one host, each its own routes.
func TestGatewayAddressPoolListeners(t *testing.T) {
	const in = `apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing, namespace: ns}
spec:
  rules: [{host: same.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: a, namespace: ns}
spec:
  gatewayClassName: moat
  addresses: [{type: IPAddress, value: 10.9.0.10}]
  listeners: [{name: http, protocol: HTTP, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: b, namespace: ns}
spec:
  gatewayClassName: moat
  addresses: [{type: IPAddress, value: 10.9.0.11}]
  listeners: [{name: http, protocol: HTTP, port: 8080}, {name: unused, protocol: HTTP, port: 9090}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: ns}
spec:
  parentRefs: [{name: a}]
  hostnames: [same.example]
  rules: [{matches: [{path: {type: PathPrefix, value: /a}}], backendRefs: [{name: s, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b, namespace: ns}
spec:
  parentRefs: [{name: b, sectionName: http}]
  hostnames: [same.example]
  rules: [{matches: [{path: {type: PathPrefix, value: /b}}], backendRefs: [{name: s, port: 80}]}]
`
	objs, diags := k8s.Decode([]byte(in), "in.yaml")
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	cfg, ds := Translate(store.FromObjects(objs, nil), Options{WatchWithoutClass: true, GatewayAddressPool: netip.MustParsePrefix("10.9.0.0/24")})
	for _, d := range ds {
		if d.Reason == "HostServedByIngress" {
			t.Errorf("diagnostic %v: a Gateway with its own address shares no host with Ingresses", d)
		}
	}
	if len(cfg.VirtualHosts) != 1 || len(cfg.VirtualHosts[0].Routes) != 1 {
		t.Fatalf("shared hosts %+v, want the Ingress's only", cfg.VirtualHosts)
	}
	keys := []string{}
	for _, l := range cfg.Listeners {
		keys = append(keys, l.Key())
	}
	if want := []string{"10.9.0.10:8080/HTTP", "10.9.0.11:8080/HTTP", "10.9.0.11:9090/HTTP"}; len(keys) != 3 || keys[0] != want[0] || keys[1] != want[1] || keys[2] != want[2] {
		t.Fatalf("listeners %q, want %q", keys, want)
	}
	for i, path := range []string{"/a", "/b"} {
		l := cfg.Listeners[i]
		if len(l.VirtualHosts) != 1 || l.VirtualHosts[0].Host != "same.example" || len(l.VirtualHosts[0].Routes) != 1 || l.VirtualHosts[0].Routes[0].Path != path {
			t.Errorf("listener %s: hosts %+v, want same.example with %s", l.Key(), l.VirtualHosts, path)
		}
	}
	if l := cfg.Listeners[2]; len(l.VirtualHosts) != 0 || l.CatchAll != nil {
		t.Errorf("listener without routes %s has hosts", l.Key())
	}
	if !regexp.MustCompile(`(?m)^host 10\.9\.0\.10:8080/HTTP same\.example$`).MatchString(routecfg.Dump(cfg)) {
		t.Errorf("dump:\n%s", routecfg.Dump(cfg))
	}
}
