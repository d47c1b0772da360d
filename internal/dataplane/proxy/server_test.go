package proxy

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/global"
)

// TestServerHeader: every response carries exactly one Server header,
// whoever wrote it: proxied (the upstream's own Server replaced, as nginx
// hides it), 404, 503, HTTPS redirect and CORS preflight. server-tokens
// off names moat, on adds the version (nginx's server_tokens).
func TestServerHeader(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "gunicorn/20")
		w.Write([]byte("ok")) //nolint:errcheck
	}))
	t.Cleanup(up.Close)
	preflight := prefix("/cors", "up")
	preflight.Policy = &routecfg.RoutePolicy{CORS: &routecfg.CORS{AnyOrigin: true, AllowMethods: "GET", AllowHeaders: "X", MaxAge: "5"}}
	redirect := prefix("/", "up")
	redirect.SSLRedirect = true
	cfg := config([]*routecfg.Pool{pool("up", addr(up)), pool("empty")},
		&routecfg.VirtualHost{Host: "a.example", Routes: []*routecfg.Route{preflight, prefix("/empty", "empty"), prefix("/", "up")}},
		&routecfg.VirtualHost{Host: "tls.example", TLS: true, Routes: []*routecfg.Route{redirect}},
	)
	f := newFixture(t, cfg, false, func(o *Options, _ *upstream.TransportOptions) { o.Version = "v1.2.3" })
	check := func(what string, want string) {
		t.Helper()
		for _, c := range []struct {
			name, host, method, path string
			status                   int
		}{
			{"proxied", "a.example", "GET", "/x", 200},
			{"no route", "nowhere.example", "GET", "/", 404},
			{"no endpoints", "a.example", "GET", "/empty", 503},
			{"https redirect", "tls.example", "GET", "/", 308},
			{"cors preflight", "a.example", "OPTIONS", "/cors", 204},
		} {
			req, _ := http.NewRequest(c.method, f.srv.URL+c.path, nil)
			req.Host = c.host
			req.Header.Set("Origin", "https://o.example")
			resp, err := f.client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status || len(resp.Header["Server"]) != 1 || resp.Header.Get("Server") != want {
				t.Errorf("%s, %s: status %d Server %q, want %d %q", what, c.name, resp.StatusCode, resp.Header["Server"], c.status, want)
			}
		}
	}
	check("server-tokens unset", "moat")
	cfg.Global = &global.Settings{ServerTokens: true}
	f.apply(cfg)
	check("server-tokens true", "moat/v1.2.3")
	cfg.Global = &global.Settings{ServerTokens: false}
	f.apply(cfg)
	check("server-tokens false", "moat")
}
