package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/echo"
)

// ppV1 is a PROXY v1 line from src to dst ("ip:port").
func ppV1(src, dst string) []byte {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	fam := "TCP4"
	if s.Addr().Is6() {
		fam = "TCP6"
	}
	return fmt.Appendf(nil, "PROXY %s %s %s %d %d\r\n", fam, s.Addr(), d.Addr(), s.Port(), d.Port())
}

// ppV2 is a PROXY v2 block from src to dst, as a load balancer's library
// writes it.
func ppV2(t *testing.T, src, dst string) []byte {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(2, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(src)), net.TCPAddrFromAddrPort(netip.MustParseAddrPort(dst)))
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ppClient is m.client whose every connection starts with header, as
// from a load balancer with PROXY protocol on.
func (m *moat) ppClient(roots *x509.CertPool, h2 bool, header []byte) *http.Client {
	c := m.client(roots, h2)
	tr := c.Transport.(*http.Transport)
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if _, err := conn.Write(header); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
	return c
}

// countingEcho is an echo backend that counts the requests it gets.
func countingEcho(t *testing.T, name string) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := echo.Handler(name)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), &n
}

// metricValue reads one series from moat's /metrics ("" if absent).
func metricValue(t *testing.T, m *moat, series string) string {
	t.Helper()
	_, body := adminGet(t, m, "/metrics")
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// accessClient is the "client" of the last JSON access-log line for host.
func accessClient(m *moat, host string) string {
	var client string
	for line := range strings.SplitSeq(m.logs.String(), "\n") {
		var l struct{ Client, Host string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Host == host && l.Client != "" {
			client = l.Client
		}
	}
	return client
}

// closedUnanswered sends raw bytes (nil: nothing) and reports whether moat
// closed the connection without writing a byte.
func closedUnanswered(t *testing.T, addr string, send []byte) bool {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if send != nil {
		if _, err := c.Write(send); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 512))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("connection still open 5s after %q", send)
		return false
	}
	return n == 0 && err != nil
}

// TestProxyProtocol: use-proxy-protocol in file mode. PROXY v1 and v2
// headers over HTTP, HTTPS (HTTP/1.1 and HTTP/2) and ssl-passthrough give
// the client address to X-Forwarded-For, X-Real-IP, the access log, the
// allowlist, block-cidrs and rate limits; the header's port to X-Forwarded-Port and
// 443 to the scheme. A missing, malformed or late header closes the
// connection before any backend request and is counted. The key applies
// on change, and its composition with use-forwarded-headers and
// proxy-real-ip-cidr follows ingress-nginx's real_ip.
func TestProxyProtocol(t *testing.T) {
	dir := t.TempDir()
	ca, backendCA := newCA(t), newCA(t)
	app1, hits := countingEcho(t, "app")
	passBE := startTLSEcho(t, "pass-be", backendCA.leaf(t, "pass.example", false, "pass.example"), nil)
	cm := func(data string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat-config, namespace: ingress}\ndata:\n" + data
	}
	writeFile(t, dir, "cm.yaml", cm(`  use-proxy-protocol: "true"
  proxy-protocol-header-timeout: "300ms"
  block-cidrs: "198.18.0.0/15"`))
	writeFile(t, dir, "site.yaml", join(
		ca.secret(t, "default", "site-tls", "pp.example", "allow.example"),
		service("default", "app", app1),
		service("default", "pass-be", passBE),
		ingress("default", "pp", "pp.example", "site-tls", "/", "app"),
		annIngress("allow", "allow.example", "app", map[string]string{"whitelist-source-range": "192.0.2.0/24"}),
		annIngress("limited", "limited.example", "app", map[string]string{"limit-rps": "1"}),
		annotate(ingress("default", "pass", "pass.example", "", "/", "pass-be"), map[string]string{"ssl-passthrough": "true"}),
	))
	m := startMoat(t, dir, func(c *app.ServeConfig) {
		c.ConfigMap = "ingress/moat-config"
		c.EnableSSLPassthrough = true
	})

	type want struct{ xff, port, proto string }
	cases := []struct {
		name   string
		client *http.Client
		url    string
		want   want
	}{
		{"v1 http", m.ppClient(nil, false, ppV1("192.0.2.10:40000", "198.51.100.1:8080")), "http://allow.example/a", want{"192.0.2.10", "8080", "http"}},
		{"v2 http", m.ppClient(nil, false, ppV2(t, "192.0.2.13:40000", "198.51.100.1:80")), "http://allow.example/e", want{"192.0.2.13", "80", "http"}},
		{"v1 https", m.ppClient(ca.pool, false, ppV1("192.0.2.11:40000", "198.51.100.1:1234")), "https://pp.example/b", want{"192.0.2.11", "1234", "https"}},
		{"v2 https h2", m.ppClient(ca.pool, true, ppV2(t, "[2001:db8::7]:40000", "[2001:db8::1]:8443")), "https://pp.example/c", want{"2001:db8::7", "8443", "https"}},
		// A load balancer terminating TLS on 443 and sending plain HTTP:
		// https, so the TLS host does not redirect (lua_ingress.lua).
		{"v1 port 443 over http", m.ppClient(nil, false, ppV1("192.0.2.12:40000", "198.51.100.1:443")), "http://pp.example/d", want{"192.0.2.12", "443", "https"}},
	}
	for _, tc := range cases {
		r, err := do(tc.client, tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		h := r.echo.Headers
		first := func(k string) string {
			if len(h[k]) == 0 {
				return ""
			}
			return h[k][0]
		}
		if r.status != 200 || first("X-Forwarded-For") != tc.want.xff || first("X-Real-Ip") != tc.want.xff ||
			first("X-Forwarded-Port") != tc.want.port || first("X-Forwarded-Proto") != tc.want.proto {
			t.Errorf("%s: %d XFF %q X-Real-IP %q port %q proto %q; want 200 %+v", tc.name, r.status,
				first("X-Forwarded-For"), first("X-Real-Ip"), first("X-Forwarded-Port"), first("X-Forwarded-Proto"), tc.want)
		}
		host := strings.SplitN(strings.TrimPrefix(strings.TrimPrefix(tc.url, "http://"), "https://"), "/", 2)[0]
		eventually(t, 2*time.Second, tc.name+" access log", func() bool { return accessClient(m, host) == tc.want.xff })
	}

	// The allowlist and block-cidrs see the PROXY source.
	for _, tc := range []struct {
		header []byte
		url    string
		code   int
	}{
		{ppV1("203.0.113.5:1000", "198.51.100.1:80"), "http://allow.example/", 403},
		{ppV2(t, "192.0.2.99:1000", "198.51.100.1:80"), "http://allow.example/", 200},
		{ppV1("198.18.0.1:1000", "198.51.100.1:443"), "https://pp.example/", 403},
		{ppV1("198.51.100.9:1000", "198.51.100.1:443"), "https://pp.example/", 200},
	} {
		if r := get(t, m.ppClient(ca.pool, false, tc.header), tc.url); r.status != tc.code {
			t.Errorf("%q from %q: %d, want %d", tc.url, tc.header, r.status, tc.code)
		}
	}

	// Rate limits count per PROXY source: one client over its burst is
	// refused, another is not.
	busy := m.ppClient(nil, false, ppV1("192.0.2.77:1000", "198.51.100.1:80"))
	limited := 0
	for range 12 {
		if r := get(t, busy, "http://limited.example/"); r.status == 503 {
			limited++
		}
	}
	if limited == 0 {
		t.Error("limit-rps: 12 requests at once from one PROXY source were all served")
	}
	if r := get(t, m.ppClient(nil, false, ppV1("192.0.2.78:1000", "198.51.100.1:80")), "http://limited.example/"); r.status != 200 {
		t.Errorf("limit-rps: another PROXY source got %d", r.status)
	}

	// ssl-passthrough: the header comes before the ClientHello, and the
	// stream reaches the backend's own TLS.
	r := get(t, m.ppClient(backendCA.pool, false, ppV2(t, "192.0.2.20:1000", "198.51.100.1:443")), "https://pass.example/")
	if r.status != 200 || r.echo.Name != "pass-be" || !r.echo.TLS {
		t.Errorf("passthrough behind PROXY: %d %+v", r.status, r.echo)
	}

	// A LOCAL header (the load balancer's health check): served, from the
	// socket's address.
	local := append(append([]byte{}, proxyproto.SIGV2...), 0x20, 0x00, 0x00, 0x00)
	if r := get(t, m.ppClient(nil, false, local), "http://pp.example/health"); r.status != 308 {
		t.Errorf("LOCAL header: %d, want the TLS host's redirect", r.status)
	}

	// Refused: nothing reaches the backend, each is counted by reason.
	before := hits.Load()
	refused := []struct {
		addr   string
		send   []byte
		series string
	}{
		{m.addrs.HTTP, []byte("GET / HTTP/1.1\r\nHost: pp.example\r\n\r\n"), `moat_proxy_protocol_errors_total{listener="http",reason="missing"}`},
		{m.addrs.HTTP, []byte("PROXY TCP4 999.0.2.1 10.0.0.1 1 80\r\nGET / HTTP/1.1\r\nHost: pp.example\r\n\r\n"), `moat_proxy_protocol_errors_total{listener="http",reason="malformed"}`},
		{m.addrs.HTTP, nil, `moat_proxy_protocol_errors_total{listener="http",reason="timeout"}`},
		{m.addrs.HTTPS, []byte{0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00}, `moat_proxy_protocol_errors_total{listener="https",reason="missing"}`},
	}
	for _, tc := range refused {
		if !closedUnanswered(t, tc.addr, tc.send) {
			t.Errorf("%q: got an answer", tc.send)
		}
		if v := metricValue(t, m, tc.series); v != "1" {
			t.Errorf("%s = %q, want 1", tc.series, v)
		}
	}
	// A real TLS client without the header fails its handshake.
	if _, err := do(m.client(ca.pool, false), "https://pp.example/"); err == nil {
		t.Error("HTTPS without a PROXY header was answered")
	}
	if n := hits.Load(); n != before {
		t.Errorf("%d backend requests from refused connections", n-before)
	}

	// use-forwarded-headers too, the load balancer trusted (loopback) and
	// one proxy in front of it: a trusted PROXY source defers to
	// X-Forwarded-For, an untrusted one does not.
	writeFile(t, dir, "cm.yaml", cm(`  use-proxy-protocol: "true"
  use-forwarded-headers: "true"
  proxy-real-ip-cidr: "127.0.0.0/8,192.0.2.1/32"`))
	xff := func(header []byte, sent string) string {
		rq, _ := http.NewRequest("GET", "http://pp.example/", nil)
		if sent != "" {
			rq.Header.Set("X-Forwarded-For", sent)
		}
		resp, err := m.ppClient(nil, false, header).Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e echo.Response
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &e)
		if len(e.Headers["X-Real-Ip"]) == 0 {
			return fmt.Sprintf("status %d", resp.StatusCode)
		}
		return e.Headers["X-Real-Ip"][0]
	}
	eventually(t, 5*time.Second, "use-forwarded-headers applied", func() bool {
		return xff(ppV1("192.0.2.1:1000", "198.51.100.1:443"), "203.0.113.9") == "203.0.113.9"
	})
	if got := xff(ppV1("192.0.2.50:1000", "198.51.100.1:443"), "203.0.113.9"); got != "192.0.2.50" {
		t.Errorf("untrusted PROXY source with X-Forwarded-For: client %q, want the PROXY source", got)
	}
	if got := xff(ppV1("192.0.2.1:1000", "198.51.100.1:443"), ""); got != "192.0.2.1" {
		t.Errorf("trusted PROXY source without X-Forwarded-For: client %q, want the PROXY source", got)
	}

	// The load balancer itself not trusted: nginx keeps the socket's
	// address, whatever the header says.
	writeFile(t, dir, "cm.yaml", cm(`  use-proxy-protocol: "true"
  proxy-real-ip-cidr: "10.0.0.0/8"`))
	eventually(t, 5*time.Second, "proxy-real-ip-cidr applied", func() bool {
		return xff(ppV1("192.0.2.1:1000", "198.51.100.1:443"), "") == "127.0.0.1"
	})

	// Turned off: plain connections are served again.
	writeFile(t, dir, "cm.yaml", cm(`  use-proxy-protocol: "false"`))
	eventually(t, 5*time.Second, "use-proxy-protocol off", func() bool {
		r, err := do(m.client(ca.pool, false), "https://pp.example/")
		return err == nil && r.status == 200
	})
}
