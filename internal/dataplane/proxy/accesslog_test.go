package proxy

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/upstream"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/global"
	"github.com/moat-ingress/moat/internal/routecfg/logformat"
)

// waitLines waits for n access-log lines (written after the response).
func waitLines(t *testing.T, f *fixture, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); strings.Count(f.log.String(), "\n") < n && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSuffix(f.log.String(), "\n"), "\n")
	if len(lines) < n {
		t.Fatalf("want %d access-log lines, got:\n%s", n, f.log.String())
	}
	return lines
}

// TestAccessLogDefaultFormat: with nothing configured a line has the
// fields of ingress-nginx's default log-format-upstream in its order; a
// canary's request names the canary's upstream; a local 404 has no
// upstream; a quote in a value is escaped as \x22.
func TestAccessLogDefaultFormat(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	rt := prefix("/", "a")
	rt.Policy = &routecfg.RoutePolicy{Canary: &routecfg.Canary{Pool: "b", Header: "X-Canary",
		Source: routecfg.Source{Namespace: "ns", Ingress: "ing-canary", Service: "b", Port: "8080"}}}
	cfg := config([]*routecfg.Pool{pool("a", addr(a)), pool("b", addr(b))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{rt}})
	// The unknown host's line needs enable-access-log-for-default-backend.
	cfg.Global = &global.Settings{AccessLogDefaultBackend: true}
	f := newFixture(t, cfg, false, func(o *Options, _ *upstream.TransportOptions) { o.AccessLogJSON = false })
	f.get(t, "foo.com", "/x?q=1", "User-Agent", "ua\"1", "X-Request-ID", "rid-1")
	f.get(t, "foo.com", "/c", "X-Canary", "always", "Referer", "https://r.example/")
	f.get(t, "nowhere.com", "/")
	lines := waitLines(t, f, 3)
	ip := `127\.0\.0\.1`
	time := `\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]`
	for i, want := range []string{
		`^` + ip + ` - - ` + time + ` "GET /x\?q=1 HTTP/1\.1" 200 \d+ "-" "ua\\x221" \d+ \d+\.\d{3} \[ns-a-80\] \[\] ` + ip + `:\d+ \d+ \d+\.\d{3} 200 rid-1$`,
		`^` + ip + ` - - ` + time + ` "GET /c HTTP/1\.1" 200 \d+ "https://r\.example/" "Go-http-client/1\.1" \d+ \d+\.\d{3} \[ns-a-80\] \[ns-b-8080\] ` + ip + `:\d+ \d+ \d+\.\d{3} 200 [0-9a-f]{32}$`,
		`^` + ip + ` - - ` + time + ` "GET / HTTP/1\.1" 404 \d+ "-" "Go-http-client/1\.1" \d+ \d+\.\d{3} \[upstream-default-backend\] \[\] - - - - [0-9a-f]{32}$`,
	} {
		if !regexp.MustCompile(want).MatchString(lines[i]) {
			t.Errorf("line %d:\n%s\ndoes not match\n%s", i+1, lines[i], want)
		}
	}
}

// TestAccessLogConfiguredFormat: log-format-upstream with JSON escaping,
// $remote_addr the client trusted through X-Forwarded-For, a missing
// value empty, the canary's Service in $service_name.
func TestAccessLogConfiguredFormat(t *testing.T) {
	a := backend(t, "a")
	lf, err := logformat.Parse(`{"addr":"$remote_addr","svc":"$service_name","path":"$location_path","ua":"$http_user_agent","user":"$remote_user","st":$status}`, logformat.EscapeJSON)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config([]*routecfg.Pool{pool("a", addr(a))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/api", "a")}})
	cfg.Global = &global.Settings{LogFormat: &lf, UseForwardedHeaders: true, ForwardedForHeader: "X-Forwarded-For",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	f := newFixture(t, cfg, false, func(o *Options, _ *upstream.TransportOptions) { o.AccessLogJSON = false })
	f.get(t, "foo.com", "/api/x", "X-Forwarded-For", "203.0.113.9", "User-Agent", "a\"b\tc")
	line := waitLines(t, f, 1)[0]
	if want := `{"addr":"203.0.113.9","svc":"a","path":"/api","ua":"a\"b\tc","user":"","st":200}`; line != want {
		t.Errorf("line\n%s\nwant\n%s", line, want)
	}
}

func TestParseLogFormat(t *testing.T) {
	f, err := logformat.Parse(`${remote_addr}x $http_x_custom_h "$status"`, logformat.EscapeDefault)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Steps) != 6 || f.Steps[0].Var != logformat.RemoteAddr || f.Steps[1].Literal != "x " ||
		f.Steps[2].Header != "X-Custom-H" || f.Steps[4].Var != logformat.Status {
		t.Errorf("steps %+v", f.Steps)
	}
	for _, bad := range []string{`$nosuch`, `${remote_addr`, `$ x`, `${}`} {
		if _, err := logformat.Parse(bad, logformat.EscapeDefault); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// BenchmarkAccessLogLine is the cost of building one line, ingress-nginx's
// default format against moat's JSON, for a proxied request.
func BenchmarkAccessLogLine(b *testing.B) {
	rt := prefix("/", "a")
	st := &reqState{rt: rt, vh: &routecfg.VirtualHost{Host: "foo.com"}, reqID: "0123456789abcdef0123456789abcdef", uri: "/some/path"}
	st.up.EP = &upstream.Endpoint{Address: "10.0.0.1:8080"}
	st.up.Upstream, st.up.UpStatus = true, 200
	st.rw.Bytes = 1234
	r := httptest.NewRequest(http.MethodGet, "http://foo.com/some/path?q=1", nil)
	r.RemoteAddr = "203.0.113.9:41234"
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")
	r.Header.Set("Referer", "https://example.com/")
	start := time.Now()
	end := start.Add(3 * time.Millisecond)
	st.up.AttStart = start.Add(time.Millisecond)
	buf := make([]byte, 0, 512)
	b.Run("nginx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = st.appendFormatLine(buf[:0], defaultLogFormat, r, start, end, 200)
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = st.appendJSONLine(buf[:0], r, start, end, 200)
		}
	})
}
