package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/moat-ingress/moat/internal/app"
)

// h3Client is an HTTP/3 client (quic-go's) that sends every request to
// moat's HTTPS port over UDP, whatever the URL's host (the host is the SNI
// and :authority).
func (m *moat) h3Client(t *testing.T, roots *x509.CertPool) *http.Client {
	t.Helper()
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddrEarly(ctx, m.addrs.HTTPS, tlsCfg, cfg)
		},
	}
	t.Cleanup(func() { tr.Close() })
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// TestHTTP3: with --http3, quic-go's HTTP/3 client gets the same answers
// as an HTTP/2 client: status, body and headers on host and path routes,
// a redirect, a 404, basic auth refused and accepted; the certificate
// chosen by SNI; Alt-Svc advertised on both. Without --http3 there is no
// Alt-Svc.
func TestHTTP3(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	web, api := startEcho(t, "127.0.0.1:0", "web"), startEcho(t, "127.0.0.1:0", "api")
	writeFile(t, dir, "all.yaml", join(
		ca.secret(t, "default", "a-tls", "a.example"),
		ca.secret(t, "default", "b-tls", "b.example"),
		service("default", "web", web),
		service("default", "api", api),
		ingress("default", "a", "a.example", "a-tls", "/", "web", "/api", "api"),
		ingress("default", "b", "b.example", "b-tls", "/", "api"),
		ca.secret(t, "default", "c-tls", "moved.example", "locked.example", "nopath.example"),
		annotate(ingress("default", "moved", "moved.example", "c-tls", "/", "web"), map[string]string{"permanent-redirect": "https://a.example/new"}),
		annotate(ingress("default", "locked", "locked.example", "c-tls", "/", "web"), map[string]string{"auth-type": "basic", "auth-secret": "htpasswd", "auth-realm": "members"}),
		ingress("default", "c", "nopath.example", "c-tls"),
		`apiVersion: v1
kind: Secret
metadata: {name: htpasswd, namespace: default}
stringData:
  auth: "alice:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M="`,
	))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.HTTP3 = true })
	h2, h3 := m.client(ca.pool, true), m.h3Client(t, ca.pool)

	const altSvc = `h3=":443"; ma=86400`
	for _, tc := range []struct {
		url  string
		auth bool
		echo bool // an echo backend answers: its body names moat's own port, compare the parsed echo
	}{
		{url: "https://a.example/", echo: true},
		{url: "https://a.example/api/v1?x=1", echo: true},
		{url: "https://b.example/other", echo: true},
		{url: "https://moved.example/some"},
		{url: "https://nopath.example/"},
		{url: "https://locked.example/"},
		{url: "https://locked.example/in", auth: true, echo: true},
	} {
		get := func(c *http.Client) result {
			rq, err := http.NewRequest("GET", tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth {
				rq.SetBasicAuth("alice", "test")
			}
			resp, err := c.Do(rq)
			if err != nil {
				t.Fatalf("%s: %v", tc.url, err)
			}
			return readResult(t, resp)
		}
		r2, r3 := get(h2), get(h3)
		if r2.proto != "HTTP/2.0" || r3.proto != "HTTP/3.0" {
			t.Fatalf("%s: protocols %s and %s", tc.url, r2.proto, r3.proto)
		}
		if r2.status != r3.status {
			t.Errorf("%s: status h2 %d, h3 %d", tc.url, r2.status, r3.status)
		}
		skip := []string{"Date", "Content-Length"}
		if !tc.echo {
			skip = skip[:1]
			if string(r2.body) != string(r3.body) {
				t.Errorf("%s: body h2 %q, h3 %q", tc.url, r2.body, r3.body)
			}
		} else if e2, e3 := r2.echo, r3.echo; e2.Name != e3.Name || e2.Path != e3.Path || e2.URI != e3.URI || e2.Host != e3.Host || e3.Name == "" ||
			!slices.Equal(e2.Headers["X-Forwarded-Proto"], e3.Headers["X-Forwarded-Proto"]) || !slices.Equal(e2.Headers["X-Forwarded-Port"], e3.Headers["X-Forwarded-Port"]) ||
			!slices.Equal(e2.Headers["X-Real-Ip"], e3.Headers["X-Real-Ip"]) || !slices.Equal(e2.Headers["Authorization"], e3.Headers["Authorization"]) {
			t.Errorf("%s: the backend saw\n h2 %+v\n h3 %+v", tc.url, e2, e3)
		}
		for k, v := range r2.header {
			if !slices.Contains(skip, k) && !slices.Equal(v, r3.header[k]) {
				t.Errorf("%s: header %s h2 %q, h3 %q", tc.url, k, v, r3.header[k])
			}
		}
		for k := range r3.header {
			if _, ok := r2.header[k]; !ok && !slices.Contains(skip, k) {
				t.Errorf("%s: header %s only over HTTP/3: %q", tc.url, k, r3.header[k])
			}
		}
		if r2.header.Get("Alt-Svc") != altSvc || r3.header.Get("Alt-Svc") != altSvc {
			t.Errorf("%s: Alt-Svc h2 %q, h3 %q; want %q", tc.url, r2.header.Get("Alt-Svc"), r3.header.Get("Alt-Svc"), altSvc)
		}
		if cn2, cn3 := r2.tls.PeerCertificates[0].DNSNames, r3.tls.PeerCertificates[0].DNSNames; !slices.Equal(cn2, cn3) {
			t.Errorf("%s: certificate names h2 %v, h3 %v", tc.url, cn2, cn3)
		}
	}
	// Request bodies: one within proxy-body-size (1m) reaches the backend,
	// a larger one gets 413, over both.
	for _, tc := range []struct {
		size int
		want int
	}{{64 << 10, 200}, {2 << 20, 413}} {
		for _, c := range []*http.Client{h2, h3} {
			resp, err := c.Post("https://a.example/api/upload", "application/octet-stream", strings.NewReader(strings.Repeat("x", tc.size)))
			if err != nil {
				t.Fatalf("POST %d bytes: %v", tc.size, err)
			}
			r := readResult(t, resp)
			if r.status != tc.want || (tc.want == 200 && (r.echo.Method != "POST" || r.echo.Name != "api")) {
				t.Errorf("%s POST %d bytes: %d %q %q, want %d", r.proto, tc.size, r.status, r.echo.Method, r.echo.Name, tc.want)
			}
		}
	}
	// SNI picks each host's own certificate over QUIC.
	if r := get(t, h3, "https://b.example/"); !slices.Equal(r.tls.PeerCertificates[0].DNSNames, []string{"b.example"}) {
		t.Errorf("b.example over HTTP/3: certificate for %v", r.tls.PeerCertificates[0].DNSNames)
	}
	// Plain HTTP never advertises it.
	if r := get(t, m.client(ca.pool, false), "http://nopath.example/"); r.header.Get("Alt-Svc") != "" {
		t.Errorf("plain HTTP response carries Alt-Svc %q", r.header.Get("Alt-Svc"))
	}

	// Without --http3: no Alt-Svc, nothing on UDP.
	off := startMoat(t, dir, nil)
	if r := get(t, off.client(ca.pool, true), "https://a.example/"); r.status != 200 || r.header.Get("Alt-Svc") != "" {
		t.Errorf("without --http3: %d Alt-Svc %q", r.status, r.header.Get("Alt-Svc"))
	}
	c := off.h3Client(t, ca.pool)
	c.Timeout = time.Second
	if _, err := c.Get("https://a.example/"); err == nil {
		t.Error("without --http3, an HTTP/3 request was answered")
	}
}

// readResult reads resp into a result, as do does.
func readResult(t *testing.T, resp *http.Response) result {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := result{status: resp.StatusCode, header: resp.Header, body: body, proto: resp.Proto, tls: resp.TLS}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &r.echo)
	}
	return r
}

// TestHTTP3ClientCertificates: auth-tls-secret over HTTP/3: the QUIC
// handshake requests a client certificate by SNI as TCP's does; a
// verified one reaches the backend with ssl-client-verify SUCCESS, none
// gets 400, as over HTTP/2.
func TestHTTP3ClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, clientCA := newCA(t), newCA(t)
	be := startEcho(t, "127.0.0.1:0", "web")
	writeFile(t, dir, "mtls.yaml", join(
		service("default", "web", be),
		ca.secret(t, "default", "site", "secure.example"),
		opaqueSecret("default", "client-ca", map[string][]byte{"ca.crt": clientCA.caPEM()}),
		annotate(ingress("default", "secure", "secure.example", "site", "/", "web"), map[string]string{"auth-tls-secret": "default/client-ca"}),
	))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.HTTP3 = true })
	good := clientCA.leaf(t, "allowed", true)
	for _, cert := range []*tls.Certificate{good, nil} {
		cfg := &tls.Config{RootCAs: ca.pool}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		tr := &http3.Transport{TLSClientConfig: cfg, Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, qc *quic.Config) (*quic.Conn, error) {
			return quic.DialAddrEarly(ctx, m.addrs.HTTPS, tlsCfg, qc)
		}}
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://secure.example/")
		if err != nil {
			t.Fatal(err)
		}
		r := readResult(t, resp)
		tr.Close()
		want, verify := 400, ""
		if cert != nil {
			want, verify = 200, "SUCCESS"
		}
		if r.status != want || r.proto != "HTTP/3.0" || (verify != "" && (len(r.echo.Headers["Ssl-Client-Verify"]) == 0 || r.echo.Headers["Ssl-Client-Verify"][0] != verify)) {
			t.Errorf("certificate %v: %s %d %v; want %d, ssl-client-verify %q", cert != nil, r.proto, r.status, r.echo.Headers["Ssl-Client-Verify"], want, verify)
		}
	}
}
