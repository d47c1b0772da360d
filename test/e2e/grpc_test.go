package e2e

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// startGRPC runs a gRPC health server, over TLS when cert is set (else
// h2c), and returns its address and health server.
func startGRPC(t *testing.T, cert *tls.Certificate) (string, *health.Server) {
	t.Helper()
	var opts []grpc.ServerOption
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(cert)))
	}
	srv := grpc.NewServer(opts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), hs
}

// TestGRPC: gRPC through moat over h2 end to end, to a TLS backend
// (GRPCS) and an h2c one (GRPC): unary calls, an error status carried in
// trailers, and a server stream whose messages arrive as they are sent.
func TestGRPC(t *testing.T) {
	dir := t.TempDir()
	ca, backendCA := newCA(t), newCA(t)
	tlsAddr, tlsHealth := startGRPC(t, backendCA.leaf(t, "grpc.internal", false, "grpc.internal"))
	h2cAddr, h2cHealth := startGRPC(t, nil)
	writeFile(t, dir, "g.yaml", join(
		service("default", "grpcs", tlsAddr),
		service("default", "grpc", h2cAddr),
		ca.secret(t, "default", "site", "grpcs.example", "grpc.example"),
		opaqueSecret("default", "backend-ca", map[string][]byte{"ca.crt": backendCA.caPEM()}),
		annotate(ingress("default", "grpcs", "grpcs.example", "site", "/", "grpcs"), map[string]string{
			"backend-protocol": "GRPCS", "proxy-ssl-secret": "default/backend-ca", "proxy-ssl-verify": "on", "proxy-ssl-name": "grpc.internal"}),
		annotate(ingress("default", "grpc", "grpc.example", "site", "/", "grpc"), map[string]string{"backend-protocol": "GRPC"}),
	))
	m := startMoat(t, dir, nil)

	for _, tc := range []struct {
		host string
		hs   *health.Server
	}{{"grpcs.example", tlsHealth}, {"grpc.example", h2cHealth}} {
		t.Run(tc.host, func(t *testing.T) {
			conn, err := grpc.NewClient("passthrough:///"+tc.host+":443",
				grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, "tcp", m.addrs.HTTPS)
				}),
				grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{ServerName: tc.host, RootCAs: ca.pool})))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			client := healthpb.NewHealthClient(conn)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			tc.hs.SetServingStatus("moat.Test", healthpb.HealthCheckResponse_SERVING)
			res, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "moat.Test"})
			if err != nil || res.Status != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("unary Check: %v %v", res, err)
			}
			// The status of a failed call travels in the trailers.
			_, err = client.Check(ctx, &healthpb.HealthCheckRequest{Service: "unknown"})
			if status.Code(err) != codes.NotFound {
				t.Fatalf("Check of an unknown service: %v, want NotFound", err)
			}
			// Server streaming: each status change arrives while the
			// stream stays open.
			stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "moat.Test"})
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []healthpb.HealthCheckResponse_ServingStatus{
				healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING, healthpb.HealthCheckResponse_SERVING,
			} {
				msg, err := stream.Recv()
				if err != nil || msg.Status != want {
					t.Fatalf("stream message %d: %v %v, want %v", i, msg, err, want)
				}
				if i == 0 {
					tc.hs.SetServingStatus("moat.Test", healthpb.HealthCheckResponse_NOT_SERVING)
				} else if i == 1 {
					tc.hs.SetServingStatus("moat.Test", healthpb.HealthCheckResponse_SERVING)
				}
			}
			cancel()
			if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
				t.Errorf("after cancel: %v", err)
			}
		})
	}
}
