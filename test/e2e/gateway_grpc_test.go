package e2e

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// TestGatewayGRPCRoute: a GRPCRoute sends calls by service/method (and a
// header) to two h2c gRPC backends over real sockets; each backend tells
// itself apart by the status it reports, and a ResponseHeaderModifier
// reaches the client as metadata.
func TestGatewayGRPCRoute(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	aAddr, aHealth := startGRPC(t, nil)
	bAddr, bHealth := startGRPC(t, nil)
	aHealth.SetServingStatus("moat.Test", healthpb.HealthCheckResponse_SERVING)
	bHealth.SetServingStatus("moat.Test", healthpb.HealthCheckResponse_NOT_SERVING)
	writeFile(t, dir, "g.yaml", join(
		service("apps", "a", aAddr),
		service("apps", "b", bAddr),
		ca.secret(t, "infra", "site", "rpc.example"),
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
  - {name: https, protocol: HTTPS, port: 443, allowedRoutes: {namespaces: {from: All}}, tls: {certificateRefs: [{name: site}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: rpc, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: [rpc.example]
  rules:
  - matches: [{method: {service: grpc.health.v1.Health, method: Check}}]
    filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: x-routed, value: check}]}}]
    backendRefs: [{name: a, port: 80}]
  - matches: [{method: {service: grpc.health.v1.Health, method: Check}, headers: [{name: x-backend, value: b}]}]
    backendRefs: [{name: b, port: 80}]
  - matches: [{method: {type: RegularExpression, service: "grpc\\.health\\..*", method: "W.*"}}]
    backendRefs: [{name: b, port: 80, weight: 1}, {name: a, port: 80, weight: 0}]
`))
	m := startMoat(t, dir, nil)
	conn, err := grpc.NewClient("passthrough:///rpc.example:443",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", m.addrs.HTTPS)
		}),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{ServerName: "rpc.example", RootCAs: ca.pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := &healthpb.HealthCheckRequest{Service: "moat.Test"}

	// Exact service and method: backend a, with the response header.
	var md metadata.MD
	res, err := client.Check(ctx, req, grpc.Header(&md))
	if err != nil || res.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check: %v %v, want a's SERVING", res, err)
	}
	if got := md.Get("x-routed"); len(got) != 1 || got[0] != "check" {
		t.Errorf("Check: x-routed = %q, want [check]", got)
	}
	// The same method with a header match: more headers win, backend b.
	res, err = client.Check(metadata.AppendToOutgoingContext(ctx, "x-backend", "b"), req)
	if err != nil || res.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Check with x-backend: b: %v %v, want b's NOT_SERVING", res, err)
	}
	// A regular expression on service and method, a server stream: b.
	ws, err := client.Watch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := ws.Recv(); err != nil || res.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("Watch: %v %v, want b's NOT_SERVING", res, err)
	}
	// A method no rule matches: nothing routes it (404 becomes Unimplemented).
	if _, err := client.List(ctx, &healthpb.HealthListRequest{}); err == nil {
		t.Errorf("List: served, want no route")
	}
}
