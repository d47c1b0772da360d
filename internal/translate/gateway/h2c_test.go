package gateway

import (
	"testing"
)

// A Service port with appProtocol kubernetes.io/h2c is spoken to in h2c
// (the gRPC pool kind), as HTTPRouteBackendProtocolH2C needs; others in
// HTTP/1.1.
func TestBackendH2C(t *testing.T) {
	manifests := classAndGateway + `apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {ports: [{port: 80}, {port: 81, appProtocol: kubernetes.io/h2c}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [h.example]
  rules:
  - matches: [{path: {type: PathPrefix, value: /h1}}]
    backendRefs: [{name: s, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /h2c}}]
    backendRefs: [{name: s, port: 81}]
`
	sn := decodeWorld(t, manifests)
	out := Translate(sn, Options{}, nil)
	want := map[string]string{"/h1": "ns/s:80", "/h2c": "ns/s:81#GRPC"}
	got := map[string]string{}
	for _, h := range out.Hosts {
		for _, rt := range h.Routes {
			if len(rt.Backends) == 1 {
				got[rt.Path] = rt.Backends[0].Pool
			}
		}
	}
	for p, pool := range want {
		if got[p] != pool {
			t.Errorf("%s: pool %q, want %q (all: %v)", p, got[p], pool, got)
		}
	}
}
