package e2e

import (
	"testing"
)

// TestGatewayTLSRoute: a Gateway TLS listener in Passthrough mode sends
// two SNI names, unterminated, to two TLS backends (the client verifies
// each backend's own certificate), without --enable-ssl-passthrough;
// a name no route claims still gets moat's default certificate.
func TestGatewayTLSRoute(t *testing.T) {
	dir := t.TempDir()
	backendCA := newCA(t)
	a := startTLSEcho(t, "a-be", backendCA.leaf(t, "a.pass.example", false, "a.pass.example"), nil)
	b := startTLSEcho(t, "b-be", backendCA.leaf(t, "b.pass.example", false, "b.pass.example"), nil)
	writeFile(t, dir, "gw.yaml", join(
		service("apps", "a", a),
		service("shared", "b", b),
		`apiVersion: gateway.networking.k8s.io/v1
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
  - {name: tls, protocol: TLS, port: 443, hostname: "*.pass.example", tls: {mode: Passthrough}, allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: apps, namespace: shared}
spec:
  from: [{group: gateway.networking.k8s.io, kind: TLSRoute, namespace: apps}]
  to: [{group: "", kind: Service}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: a, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: [a.pass.example]
  rules: [{backendRefs: [{name: a, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: b, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: tls}]
  hostnames: [b.pass.example, b.other.example]
  rules: [{backendRefs: [{name: b, namespace: shared, port: 80, weight: 5}, {name: a, port: 80, weight: 0}]}]
`))
	m := startMoat(t, dir, nil)
	for host, want := range map[string]string{"a.pass.example": "a-be", "b.pass.example": "b-be"} {
		for i := 0; i < 3; i++ { // weight 0 never takes a connection
			r := get(t, m.client(backendCA.pool, false), "https://"+host+"/")
			if r.status != 200 || r.echo.Name != want || !r.echo.TLS {
				t.Fatalf("%s: %d %+v, want %s over its own TLS", host, r.status, r.echo, want)
			}
		}
	}
	// Outside the listener's hostname, and unknown: terminated by moat.
	for _, sni := range []string{"b.other.example", "unknown.example"} {
		if _, issuer, _ := handshake(t, m, sni); issuer != fakeIssuer {
			t.Errorf("SNI %q: issuer %q, want moat's default certificate", sni, issuer)
		}
	}
}
