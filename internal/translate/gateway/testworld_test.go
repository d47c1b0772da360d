package gateway

import (
	"testing"

	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
)

// classAndGateway is where most test worlds start: moat's GatewayClass
// and Gateway ns/gw with one HTTP listener on port 80.
const classAndGateway = `apiVersion: gateway.networking.k8s.io/v1
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
`

// decodeWorld decodes test manifests into a snapshot; any decode
// diagnostic fails the test, since a typo would otherwise test less.
func decodeWorld(t *testing.T, manifests string) *store.Snapshot {
	t.Helper()
	objs, diags := k8s.Decode([]byte(manifests), "world.yaml")
	if len(diags) > 0 {
		t.Fatalf("decode: %v", diags)
	}
	return store.FromObjects(objs, nil)
}
