package e2e

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startTCPEcho runs a plain TCP backend that answers each line with
// "echo: " and the line.
func startTCPEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte("echo: " + line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestGatewayTLSRouteTerminate: a TLS listener in mode Terminate decrypts
// with its certificate (verified by the client) and forwards the plain
// stream to a TCP backend; a Passthrough listener on the same port keeps
// forwarding its name unterminated, and an HTTPS host beside them is
// still served over HTTP.
func TestGatewayTLSRouteTerminate(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	tcp := startTCPEcho(t)
	backendCA := newCA(t)
	pass := startTLSEcho(t, "pass-be", backendCA.leaf(t, "pass.example.com", false, "pass.example.com"), nil)
	web := startEcho(t, "127.0.0.1:0", "web")
	writeFile(t, dir, "gw.yaml", join(service("app", "tcp", tcp), service("app", "pass", pass), service("app", "web", web),
		ca.secret(t, "app", "term-cert", "term.example.com"), ca.secret(t, "app", "web-cert", "web.example.com"), `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  gatewayClassName: moat
  listeners:
  - {name: term, protocol: TLS, port: 443, hostname: term.example.com, tls: {mode: Terminate, certificateRefs: [{name: term-cert}]}}
  - {name: pass, protocol: TLS, port: 443, hostname: pass.example.com, tls: {mode: Passthrough}}
  - {name: https, protocol: HTTPS, port: 443, hostname: web.example.com, tls: {certificateRefs: [{name: web-cert}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: term, namespace: app}
spec:
  parentRefs: [{name: gw, sectionName: term}]
  hostnames: [term.example.com]
  rules: [{backendRefs: [{name: tcp, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: pass, namespace: app}
spec:
  parentRefs: [{name: gw, sectionName: pass}]
  hostnames: [pass.example.com]
  rules: [{backendRefs: [{name: pass, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: app}
spec:
  parentRefs: [{name: gw, sectionName: https}]
  hostnames: [web.example.com]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`))
	m := startMoat(t, dir, nil)

	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", m.addrs.HTTPS,
		&tls.Config{ServerName: "term.example.com", RootCAs: ca.pool, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatalf("handshake with the Terminate listener: %v", err)
	}
	defer c.Close()
	if p := c.ConnectionState().NegotiatedProtocol; p != "" {
		t.Errorf("ALPN %q negotiated for a TLSRoute stream", p)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	for _, line := range []string{"hello", "again"} {
		if _, err := c.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil || got != "echo: "+line+"\n" {
			t.Fatalf("through the Terminate listener: %q (%v), want the backend's plain echo", got, err)
		}
	}

	// The passthrough name reaches its TLS backend unterminated: the
	// client verifies the backend's own certificate.
	pc := m.tlsClient("pass.example.com", nil, false)
	tr := pc.Transport.(*http.Transport)
	tr.TLSClientConfig.RootCAs, tr.TLSClientConfig.InsecureSkipVerify = backendCA.pool, false
	if res := get(t, pc, "https://pass.example.com/"); res.status != 200 || res.echo.Name != "pass-be" {
		t.Errorf("passthrough: %d from %q", res.status, res.echo.Name)
	}
	wc := m.tlsClient("web.example.com", nil, false)
	wtr := wc.Transport.(*http.Transport)
	wtr.TLSClientConfig.RootCAs, wtr.TLSClientConfig.InsecureSkipVerify = ca.pool, false
	if res := get(t, wc, "https://web.example.com/"); res.status != 200 || res.echo.Name != "web" || !strings.HasPrefix(res.proto, "HTTP/1") {
		t.Errorf("https: %d %s from %q", res.status, res.proto, res.echo.Name)
	}
}
