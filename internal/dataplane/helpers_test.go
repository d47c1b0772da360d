package dataplane

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/echo"
	"github.com/moat-ingress/moat/internal/metrics"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/testutil"
)

// running is a Dataplane serving on loopback listeners.
type running struct {
	t         *testing.T
	dp        *Dataplane
	reg       *prometheus.Registry
	httpAddr  string
	httpsAddr string
	log       *syncBuffer
	roots     *x509.CertPool // trusts every certificate made by newCert
	cancel    context.CancelFunc
	done      chan error
}

type syncBuffer = testutil.SyncBuffer

type option func(*Options)

func start(t *testing.T, cfg *routecfg.Config, opts ...option) *running {
	t.Helper()
	def, err := certs.GenerateDefault(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, reg: prometheus.NewRegistry(), log: &syncBuffer{}, roots: x509.NewCertPool(), done: make(chan error, 1)}
	o := Options{DefaultCert: def, AccessLog: r.log, AccessLogJSON: true, Metrics: metrics.New(r.reg), ShutdownTimeout: 5 * time.Second}
	for _, fn := range opts {
		fn(&o)
	}
	r.dp, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		if err := r.dp.Apply(cfg); err != nil {
			t.Fatal(err)
		}
	}
	httpLn := listen(t)
	httpsLn := listen(t)
	r.httpAddr, r.httpsAddr = httpLn.Addr().String(), httpsLn.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	ready := make(chan struct{})
	go func() { r.done <- r.dp.Serve(ctx, httpLn, httpsLn, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-r.done:
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return r
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// client returns a client that sends every request to the listener for
// its scheme, whatever the URL's host (so SNI and Host come from the URL),
// and does not follow redirects. h2 enables HTTP/2 over TLS.
func (r *running) client(h2 bool) *http.Client {
	c := r.newClient(h2)
	// Close before the Dataplane's cleanup: an idle HTTP/2 connection would
	// otherwise hold graceful shutdown for the server's GOAWAY timeout (1 s).
	r.t.Cleanup(c.CloseIdleConnections)
	return c
}

func (r *running) newClient(h2 bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			if port == "443" {
				return d.DialContext(ctx, network, r.httpsAddr)
			}
			return d.DialContext(ctx, network, r.httpAddr)
		},
		TLSClientConfig:   &tls.Config{RootCAs: r.roots},
		ForceAttemptHTTP2: h2,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func do(t *testing.T, c *http.Client, method, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func echoResp(t *testing.T, body []byte) echo.Response {
	t.Helper()
	var e echo.Response
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("echo body %q: %v", body, err)
	}
	return e
}

// echoBackend starts echo.Handler(name) on loopback and returns its address.
func echoBackend(t *testing.T, name string) string {
	t.Helper()
	s := httptest.NewServer(echo.Handler(name))
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// newCert makes a self-signed certificate for hosts, trusted by r.roots.
func (r *running) newCert(t *testing.T, ref string, hosts ...string) *routecfg.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: hosts[0]},
		DNSNames:              hosts,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	r.roots.AddCert(leaf)
	return &routecfg.Certificate{Ref: ref, Cert: &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}
}

func pool(key string, addrs ...string) *routecfg.Pool {
	p := &routecfg.Pool{Key: key, Namespace: "ns", Service: key}
	for _, a := range addrs {
		p.Endpoints = append(p.Endpoints, routecfg.Endpoint{Address: a})
	}
	return p
}

func prefix(path, poolKey string) *routecfg.Route {
	return &routecfg.Route{
		Path: path, Match: routecfg.MatchPrefix, Pool: poolKey, SSLRedirect: true,
		Source: routecfg.Source{Namespace: "ns", Ingress: "web", Service: poolKey, Port: "80"},
	}
}

func regexRewrite(path, poolKey, target string) *routecfg.Route {
	rt := prefix(path, poolKey)
	rt.Match = routecfg.MatchRegex
	rt.Regex = regexp.MustCompile("(?i)^" + path)
	rt.Rewrite = &routecfg.Rewrite{
		Pattern:  regexp.MustCompile("(?i)" + path),
		Target:   target,
		Redirect: regexp.MustCompile(`^https?://`).MatchString(target),
	}
	return rt
}

func config(pools []*routecfg.Pool, vhs ...*routecfg.VirtualHost) *routecfg.Config {
	cfg := &routecfg.Config{
		Pools:        map[string]*routecfg.Pool{},
		Certificates: map[string]*routecfg.Certificate{},
		VirtualHosts: vhs,
	}
	for _, p := range pools {
		cfg.Pools[p.Key] = p
	}
	return cfg
}
