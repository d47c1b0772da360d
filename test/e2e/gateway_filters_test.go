package e2e

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// startSlow runs a backend that answers after the ?delay= duration.
func startSlow(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, err := time.ParseDuration(r.URL.Query().Get("delay")); err == nil {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		_, _ = w.Write([]byte("ok"))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// HTTPRoute timeouts, as the conformance tests HTTPRouteTimeoutBackendRequest
// and HTTPRouteRequestTimeout check them: a backend slower than the timeout
// gets 504, a fast answer and a disabled (0s) timeout are served.
func TestGatewayAPITimeouts(t *testing.T) {
	dir := t.TempDir()
	slow := startSlow(t)
	writeFile(t, dir, "gateway.yaml", join(service("app", "slow", slow), `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: t, namespace: app}
spec:
  parentRefs: [{name: gw}]
  hostnames: [t.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /backend-timeout}}]
    backendRefs: [{name: slow, port: 80}]
    timeouts: {backendRequest: 300ms}
  - matches: [{path: {type: PathPrefix, value: /request-timeout}}]
    backendRefs: [{name: slow, port: 80}]
    timeouts: {request: 300ms}
  - matches: [{path: {type: PathPrefix, value: /disabled}}]
    backendRefs: [{name: slow, port: 80}]
    timeouts: {backendRequest: 0s}
`))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/backend-timeout", 200},
		{"/backend-timeout?delay=1s", 504},
		{"/request-timeout", 200},
		{"/request-timeout?delay=1s", 504},
		{"/disabled?delay=1s", 200},
	} {
		start := time.Now()
		r := get(t, c, "http://t.example.com"+tc.path)
		if r.status != tc.want {
			t.Errorf("%s: %d, want %d (%s)", tc.path, r.status, tc.want, time.Since(start))
		}
	}
}
