package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/connstate"
	"github.com/moat-ingress/moat/internal/dataplane/router"
	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/testutil"
)

// seen is what a test backend reports about the request it got.
type seen struct {
	Name     string
	Method   string
	Path     string
	URI      string
	RawQuery string
	Host     string
	Headers  map[string][]string
}

// backend starts a loopback server that answers with a JSON seen.
func backend(t testing.TB, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen{
			Name: name, Method: r.Method, Path: r.URL.Path, URI: r.RequestURI,
			RawQuery: r.URL.RawQuery, Host: r.Host, Headers: r.Header,
		})
	}))
	t.Cleanup(s.Close)
	return s
}

func addr(s *httptest.Server) string { return s.Listener.Addr().String() }

// fixture is a proxy Handler behind a plain loopback server, with a
// swappable snapshot.
type fixture struct {
	h    *Handler
	srv  *httptest.Server
	snap atomic.Pointer[Snapshot]
	ups  *upstream.Manager
	log  *lockedBuffer
}

type lockedBuffer = testutil.SyncBuffer

type fixtureOpt func(*Options, *upstream.TransportOptions)

func withResponseHeaderTimeout(d time.Duration) fixtureOpt {
	return func(_ *Options, t *upstream.TransportOptions) { t.ResponseHeaderTimeout = d }
}

func withRedirectPort(p int) fixtureOpt {
	return func(o *Options, _ *upstream.TransportOptions) { o.HTTPSRedirectPort = p }
}

func newFixture(t testing.TB, cfg *routecfg.Config, tlsFront bool, opts ...fixtureOpt) *fixture {
	t.Helper()
	f := &fixture{ups: upstream.NewManager(upstream.Options{}), log: &lockedBuffer{}}
	o := Options{
		Snapshot:  f.snap.Load,
		Upstreams: f.ups,
		AccessLog: f.log,
		// The tests read moat's JSON lines; accesslog_test.go the
		// nginx format.
		AccessLogJSON: true,
	}
	var to upstream.TransportOptions
	for _, fn := range opts {
		fn(&o, &to)
	}
	tr := upstream.NewTransport(to)
	t.Cleanup(tr.CloseIdleConnections)
	o.Transport = tr
	f.h = New(o)
	f.apply(cfg)
	f.srv = httptest.NewUnstartedServer(f.h)
	// The connection state moat's listeners give (port 0: the local one).
	conns := connstate.NewListener(0)
	f.srv.Config.ConnContext = conns.ConnContext
	if tlsFront {
		f.srv.Config.ConnContext = conns.TLSConnContext
		f.srv.EnableHTTP2 = true
		f.srv.StartTLS()
	} else {
		f.srv.Start()
	}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) apply(cfg *routecfg.Config) {
	f.ups.Apply(cfg.Pools)
	f.snap.Store(&Snapshot{Table: router.Compile(cfg), Config: cfg})
}

// client returns a client that does not follow redirects.
func (f *fixture) client() *http.Client {
	c := f.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// get sends a request for host and target (path and query) and returns
// the response with its body read.
func (f *fixture) get(t testing.TB, host, target string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := f.client().Do(req)
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

func decodeSeen(t testing.TB, body []byte) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("backend body %q: %v", body, err)
	}
	return s
}

// pool builds a routecfg.Pool for key with the given addresses.
func pool(key string, addrs ...string) *routecfg.Pool {
	p := &routecfg.Pool{Key: key, Namespace: "ns", Service: key}
	for _, a := range addrs {
		p.Endpoints = append(p.Endpoints, routecfg.Endpoint{Address: a})
	}
	return p
}

func prefix(path, poolKey string) *routecfg.Route {
	return &routecfg.Route{
		Path: path, Match: routecfg.MatchPrefix, Pool: poolKey,
		Source: routecfg.Source{Namespace: "ns", Ingress: "ing", Service: poolKey, Port: "80"},
	}
}

func regexRoute(path, poolKey string) *routecfg.Route {
	rt := prefix(path, poolKey)
	rt.Match = routecfg.MatchRegex
	rt.Regex = regexp.MustCompile("(?i)^" + path)
	return rt
}

func withRewrite(rt *routecfg.Route, target string) *routecfg.Route {
	rt.Rewrite = &routecfg.Rewrite{
		Pattern:  regexp.MustCompile("(?i)" + rt.Path),
		Target:   target,
		Redirect: regexp.MustCompile(`^https?://`).MatchString(target),
	}
	return rt
}

func config(pools []*routecfg.Pool, vhs ...*routecfg.VirtualHost) *routecfg.Config {
	cfg := &routecfg.Config{Pools: map[string]*routecfg.Pool{}, VirtualHosts: vhs}
	for _, p := range pools {
		cfg.Pools[p.Key] = p
	}
	return cfg
}
