package dataplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/metrics"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/testutil"
)

// startH3 is start with HTTP/3 on, on the HTTPS listener's port over UDP.
func startH3(t *testing.T, cfgFor func(*running) *routecfg.Config, opts ...option) (*running, string) {
	t.Helper()
	def, err := certs.GenerateDefault(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, reg: prometheus.NewRegistry(), log: &syncBuffer{}, roots: x509.NewCertPool(), done: make(chan error, 1)}
	o := Options{DefaultCert: def, AccessLog: r.log, AccessLogJSON: true, Metrics: metrics.New(r.reg), ShutdownTimeout: 2 * time.Second}
	for _, fn := range opts {
		fn(&o)
	}
	r.dp, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.dp.Apply(cfgFor(r)); err != nil {
		t.Fatal(err)
	}
	httpLn, httpsLn := listen(t), listen(t)
	r.httpAddr, r.httpsAddr = httpLn.Addr().String(), httpsLn.Addr().String()
	pc, err := net.ListenPacket("udp", r.httpsAddr)
	if err != nil {
		t.Fatal(err)
	}
	r.dp.EnableHTTP3(pc, 0)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	ready := make(chan struct{})
	go func() { r.done <- r.dp.Serve(ctx, httpLn, httpsLn, func() { close(ready) }) }()
	<-ready
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
	return r, pc.LocalAddr().String()
}

func h3Client(t *testing.T, roots *x509.CertPool, udpAddr string) *http.Client {
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddrEarly(ctx, udpAddr, tlsCfg, cfg)
		},
	}
	t.Cleanup(func() { tr.Close() })
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestHTTP3Drain: once Serve's context ends, an HTTP/3 request in flight
// finishes (the connection gets GOAWAY), Serve returns, and the UDP
// socket is closed: a new request fails.
func TestHTTP3Drain(t *testing.T) {
	slow := httptest.NewServer(testutil.SlowHandler("slow"))
	t.Cleanup(slow.Close)
	r, udp := startH3(t, func(r *running) *routecfg.Config {
		cfg := config([]*routecfg.Pool{pool("s", slow.Listener.Addr().String())},
			&routecfg.VirtualHost{Host: "secure.com", TLS: true, Certificate: "ns/secure", Routes: []*routecfg.Route{prefix("/", "s")}})
		cfg.Certificates["ns/secure"] = r.newCert(t, "ns/secure", "secure.com")
		return cfg
	})
	c := h3Client(t, r.roots, udp)
	res, err := c.Get("https://secure.com/slow?d=1ms")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 3 || res.Header.Get("Alt-Svc") != `h3=":443"; ma=86400` {
		t.Fatalf("before the drain: %s Alt-Svc %q", res.Proto, res.Header.Get("Alt-Svc"))
	}

	inflight := make(chan *http.Response, 1)
	go func() {
		res, err := c.Get("https://secure.com/slow?d=400ms")
		if err != nil {
			t.Error(err)
			close(inflight)
			return
		}
		inflight <- res
	}()
	time.Sleep(150 * time.Millisecond) // the request is with the backend
	r.cancel()
	if res, ok := <-inflight; ok {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(body) != "slow done\n" {
			t.Errorf("HTTP/3 request in flight at shutdown: %d %q, want 200 and its body", res.StatusCode, body)
		}
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		r.done <- nil // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the drain")
	}
	c2 := h3Client(t, r.roots, udp)
	c2.Timeout = 500 * time.Millisecond
	if _, err := c2.Get("https://secure.com/slow?d=1ms"); err == nil {
		t.Error("an HTTP/3 request was answered after the drain")
	}
}

// TestHTTP3NotAdvertisedWithoutTLS13: QUIC needs TLS 1.3; with
// ssl-protocols TLSv1.2 only, Alt-Svc is left out.
func TestHTTP3NotAdvertisedWithoutTLS13(t *testing.T) {
	r, _ := startH3(t, func(r *running) *routecfg.Config {
		cfg := config([]*routecfg.Pool{pool("s", echoBackend(t, "s"))},
			&routecfg.VirtualHost{Host: "secure.com", TLS: true, Certificate: "ns/secure", Routes: []*routecfg.Route{prefix("/", "s")}})
		cfg.Certificates["ns/secure"] = r.newCert(t, "ns/secure", "secure.com")
		p := routecfg.DefaultServerTLS()
		p.MaxVersion = tls.VersionTLS12
		cfg.ServerTLS = p
		return cfg
	})
	res, _ := do(t, r.client(true), "GET", "https://secure.com/")
	if res.StatusCode != 200 || res.Header.Get("Alt-Svc") != "" {
		t.Errorf("TLS 1.2 only: %d Alt-Svc %q, want none", res.StatusCode, res.Header.Get("Alt-Svc"))
	}
}

// TestHTTP3RefusesPassthroughHosts: an ssl-passthrough host's TLS is the
// backend's; over QUIC its handshake fails (the client falls back to TCP)
// instead of getting moat's certificate, while terminated hosts answer.
func TestHTTP3RefusesPassthroughHosts(t *testing.T) {
	r, udp := startH3(t, func(r *running) *routecfg.Config {
		cfg := config([]*routecfg.Pool{pool("s", echoBackend(t, "s"))},
			&routecfg.VirtualHost{Host: "secure.com", TLS: true, Certificate: "ns/secure", Routes: []*routecfg.Route{prefix("/", "s")}},
			&routecfg.VirtualHost{Host: "pass.com", Passthrough: &routecfg.Passthrough{Pool: "s"}})
		cfg.Certificates["ns/secure"] = r.newCert(t, "ns/secure", "secure.com", "pass.com")
		return cfg
	}, func(o *Options) { o.EnableSSLPassthrough = true })
	c := h3Client(t, r.roots, udp)
	c.Timeout = 3 * time.Second
	if res, err := c.Get("https://secure.com/"); err != nil || res.StatusCode != 200 {
		t.Fatalf("terminated host over HTTP/3: %v", err)
	} else {
		res.Body.Close()
	}
	if res, err := c.Get("https://pass.com/"); err == nil {
		res.Body.Close()
		t.Errorf("passthrough host over HTTP/3 answered %d by moat", res.StatusCode)
	}
}
