package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/app"
)

// gwAddrManifests is two Gateways of the pool serving the same hostname
// with routes of their own, and an Ingress with that hostname on the
// shared listeners. gw-a asks for its address (spec.addresses); gw-b gets
// one from the pool. extraA adds listeners to gw-a.
func gwAddrManifests(t *testing.T, ca *testCA, a, b, ing, addrA string, port int, extraA string) string {
	return join(
		service("apps", "a", a),
		service("apps", "b", b),
		service("apps", "ing", ing),
		ca.secret(t, "apps", "tls", "same.example"),
		ingress("apps", "ing", "same.example", "", "/", "ing"),
		fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-a, namespace: apps}
spec:
  gatewayClassName: moat
  addresses: [{type: IPAddress, value: %[1]s}]
  listeners:
  - {name: http, protocol: HTTP, port: %[2]d}
  - {name: https, protocol: HTTPS, port: %[3]d, tls: {certificateRefs: [{name: tls}]}}%[4]s
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-b, namespace: apps}
spec:
  gatewayClassName: moat
  listeners:
  - {name: http, protocol: HTTP, port: %[2]d}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: apps}
spec:
  parentRefs: [{name: gw-a}]
  hostnames: [same.example]
  rules: [{backendRefs: [{name: a, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b, namespace: apps}
spec:
  parentRefs: [{name: gw-b}]
  hostnames: [same.example]
  rules: [{backendRefs: [{name: b, port: 80}]}]`, addrA, port, port+1, extraA))
}

// dialClient sends every request to addr, whatever the URL says.
func dialClient(addr string, roots *tls.Config) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:   roots,
		DisableKeepAlives: true,
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// TestGatewayOwnAddresses runs moat with --gateway-address-pool on a
// random 127.x.y.0/24 (all of 127/8 is loopback): each Gateway answers on
// its own IP with its own routes for the same hostname, the Ingress keeps
// the shared listener, listener ports open and close with the Gateway, a
// port that cannot be bound leaves the rest serving, and h2c with prior
// knowledge works on a Gateway's HTTP listener only.
func TestGatewayOwnAddresses(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	a, b, ing := startEcho(t, "127.0.0.1:0", "a"), startEcho(t, "127.0.0.1:0", "b"), startEcho(t, "127.0.0.1:0", "ing")
	netw := fmt.Sprintf("127.%d.%d", 100+rand.IntN(100), rand.IntN(250))
	pool, addrA := netw+".0/24", netw+".10"
	port := 20000 + rand.IntN(20000)
	writeFile(t, dir, "gw.yaml", gwAddrManifests(t, ca, a, b, ing, addrA, port, ""))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.GatewayAddressPool = pool })

	dump := m.debug(t, "/debug/gateway")
	addrOf := func(dump, gw string) string {
		t.Helper()
		mm := regexp.MustCompile(`gateway apps/` + gw + ` .*addresses=\[([0-9.]+)\]`).FindStringSubmatch(dump)
		if mm == nil {
			t.Fatalf("no address for %s in /debug/gateway:\n%s", gw, dump)
		}
		return mm[1]
	}
	if got := addrOf(dump, "gw-a"); got != addrA {
		t.Fatalf("gw-a address = %s, want the requested %s", got, addrA)
	}
	addrB := addrOf(dump, "gw-b")
	if addrB == addrA || !strings.HasPrefix(addrB, netw+".") {
		t.Fatalf("gw-b address = %s, want another address of %s", addrB, pool)
	}
	if !strings.Contains(dump, "gateway apps/gw-b Accepted=True/Accepted@0 Programmed=True/Programmed@0") {
		t.Errorf("gw-b status:\n%s", dump)
	}

	hostPort := func(ip string, p int) string { return net.JoinHostPort(ip, fmt.Sprint(p)) }
	served := func(t *testing.T, addr, want string) {
		t.Helper()
		r := get(t, dialClient(addr, nil), "http://same.example/x")
		if r.status != 200 || r.echo.Name != want {
			t.Fatalf("%s: status %d from %q, want 200 from %q", addr, r.status, r.echo.Name, want)
		}
	}
	// Same hostname, three answers: one per Gateway IP, and the Ingress on
	// the shared listener.
	served(t, hostPort(addrA, port), "a")
	served(t, hostPort(addrB, port), "b")
	served(t, m.addrs.HTTP, "ing")

	// HTTPS on gw-a's own address, with the listener's certificate.
	tc := &tls.Config{RootCAs: ca.pool, ServerName: "same.example"}
	r := get(t, dialClient(hostPort(addrA, port+1), tc), "https://same.example/x")
	if r.status != 200 || r.echo.Name != "a" || r.tls == nil {
		t.Fatalf("https on gw-a: status %d from %q", r.status, r.echo.Name)
	}
	// gw-b has no port+1.
	if _, err := do(dialClient(hostPort(addrB, port+1), tc), "https://same.example/x"); err == nil {
		t.Fatalf("gw-b answers on port %d, which it has no listener for", port+1)
	}

	t.Run("h2c", func(t *testing.T) {
		h2c := func(addr string) (string, error) {
			var p http.Protocols
			p.SetUnencryptedHTTP2(true)
			tr := &http.Transport{Protocols: &p, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("http://same.example/x")
			if err != nil {
				return "", err
			}
			resp.Body.Close()
			return resp.Proto, nil
		}
		if proto, err := h2c(hostPort(addrB, port)); err != nil || proto != "HTTP/2.0" {
			t.Fatalf("h2c prior knowledge on a Gateway HTTP listener: %q, %v", proto, err)
		}
		if proto, err := h2c(m.addrs.HTTP); err == nil {
			t.Fatalf("the Ingress HTTP listener answered h2c prior knowledge (%s); ingress-nginx does not", proto)
		}
	})

	t.Run("listener added and removed", func(t *testing.T) {
		extra := fmt.Sprintf("\n  - {name: extra, protocol: HTTP, port: %d}", port+2)
		writeFile(t, dir, "gw.yaml", gwAddrManifests(t, ca, a, b, ing, addrA, port, extra))
		eventually(t, 5*time.Second, "the added port to serve gw-a's routes", func() bool {
			r, err := do(dialClient(hostPort(addrA, port+2), nil), "http://same.example/x")
			return err == nil && r.echo.Name == "a"
		})
		served(t, hostPort(addrA, port), "a") // the unchanged listener keeps serving
		writeFile(t, dir, "gw.yaml", gwAddrManifests(t, ca, a, b, ing, addrA, port, ""))
		eventually(t, 5*time.Second, "the removed port to refuse connections", func() bool {
			c, err := net.DialTimeout("tcp", hostPort(addrA, port+2), time.Second)
			if err == nil {
				c.Close()
			}
			return err != nil
		})
		served(t, hostPort(addrA, port), "a")
		served(t, hostPort(addrB, port), "b")
	})

	t.Run("port that cannot be bound", func(t *testing.T) {
		busy, err := net.Listen("tcp", hostPort(addrA, 0))
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		busyPort := busy.Addr().(*net.TCPAddr).Port
		extra := fmt.Sprintf("\n  - {name: busy, protocol: HTTP, port: %d}", busyPort)
		writeFile(t, dir, "gw.yaml", gwAddrManifests(t, ca, a, b, ing, addrA, port, extra))
		eventually(t, 5*time.Second, "a log line naming the port that cannot be bound", func() bool {
			return strings.Contains(m.logs.String(), fmt.Sprintf("gateway listener cannot be bound; retried with the next configuration\",\"gateway\":\"apps/gw-a\",\"listener\":\"%s/HTTP\"", hostPort(addrA, busyPort)))
		})
		served(t, hostPort(addrA, port), "a")
		served(t, hostPort(addrB, port), "b")
		served(t, m.addrs.HTTP, "ing")
	})
}

// TestGatewayOwnAddressPassthrough: a TLS Passthrough listener on a
// Gateway's own address forwards its SNI names unterminated there, and
// only there.
func TestGatewayOwnAddressPassthrough(t *testing.T) {
	dir := t.TempDir()
	backendCA := newCA(t)
	be := startTLSEcho(t, "pass-be", backendCA.leaf(t, "p.pass.example", false, "p.pass.example"), nil)
	netw := fmt.Sprintf("127.%d.%d", 100+rand.IntN(100), rand.IntN(250))
	ip, port := netw+".20", 20000+rand.IntN(20000)
	writeFile(t, dir, "gw.yaml", join(service("apps", "be", be), fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: apps}
spec:
  gatewayClassName: moat
  addresses: [{value: %s}]
  listeners:
  - {name: tls, protocol: TLS, port: %d, hostname: "*.pass.example", tls: {mode: Passthrough}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: p, namespace: apps}
spec:
  parentRefs: [{name: gw}]
  hostnames: [p.pass.example]
  rules: [{backendRefs: [{name: be, port: 80}]}]`, ip, port)))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.GatewayAddressPool = netw + ".0/24" })
	tc := &tls.Config{RootCAs: backendCA.pool, ServerName: "p.pass.example"}
	r := get(t, dialClient(net.JoinHostPort(ip, fmt.Sprint(port)), tc), "https://p.pass.example/")
	if r.status != 200 || r.echo.Name != "pass-be" || !r.echo.TLS {
		t.Fatalf("passthrough on the Gateway's address: %d %+v", r.status, r.echo)
	}
	// The shared HTTPS listener terminates the name with moat's certificate.
	if _, err := do(dialClient(m.addrs.HTTPS, tc), "https://p.pass.example/"); err == nil {
		t.Fatal("the shared HTTPS listener passed the Gateway's name through")
	}
}
