package proxy

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestRoutesByHostAndPath(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	cfg := config([]*routecfg.Pool{pool("a", addr(a)), pool("b", addr(b))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/b", "b"), prefix("/", "a")}},
		&routecfg.VirtualHost{Host: "*.bar.com", Routes: []*routecfg.Route{prefix("/", "b")}},
	)
	f := newFixture(t, cfg, false)
	for _, tc := range []struct{ host, path, want string }{
		{"foo.com", "/", "a"},
		{"FOO.com:8080", "/x", "a"},
		{"foo.com", "/b/c", "b"},
		{"foo.com", "/bc", "a"}, // Prefix is element-wise
		{"x.bar.com", "/", "b"},
	} {
		resp, body := f.get(t, tc.host, tc.path)
		if resp.StatusCode != 200 {
			t.Errorf("%s%s: status %d", tc.host, tc.path, resp.StatusCode)
			continue
		}
		s := decodeSeen(t, body)
		if s.Name != tc.want || s.Host != tc.host || s.Path != tc.path {
			t.Errorf("%s%s: got backend %s host %q path %q", tc.host, tc.path, s.Name, s.Host, s.Path)
		}
	}
}

func TestForwardedHeaders(t *testing.T) {
	a := backend(t, "a")
	cfg := config([]*routecfg.Pool{pool("a", addr(a))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/", "a")}})
	f := newFixture(t, cfg, false)
	_, port, _ := net.SplitHostPort(f.srv.Listener.Addr().String())
	_, body := f.get(t, "foo.com:1234", "/p?q=1",
		"X-Forwarded-For", "6.6.6.6", "X-Forwarded-Host", "evil.com", "X-Forwarded-Proto", "https",
		"X-Real-IP", "6.6.6.6", "X-Forwarded-Port", "1", "Forwarded", "for=6.6.6.6", "Proxy", "http://evil.example:3128")
	h := http.Header(decodeSeen(t, body).Headers)
	for k, want := range map[string]string{
		"X-Forwarded-For":    "127.0.0.1",
		"X-Real-Ip":          "127.0.0.1",
		"X-Forwarded-Host":   "foo.com:1234",
		"X-Forwarded-Proto":  "http",
		"X-Forwarded-Scheme": "http",
		"X-Scheme":           "http",
		"X-Forwarded-Port":   port,
		"Forwarded":          "",
		"Proxy":              "", // httpoxy: ingress-nginx sets it empty
		// The client's values, passed on under other names.
		"X-Original-Forwarded-For":  "6.6.6.6",
		"X-Original-Forwarded-Host": "evil.com",
	} {
		if got := strings.Join(h.Values(k), ","); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// HTTPS: X-Forwarded-Port is 443 whatever moat listens on, as
	// ingress-nginx's $pass_port.
	tf := newFixture(t, cfg, true)
	_, body = tf.get(t, "foo.com", "/")
	hs := http.Header(decodeSeen(t, body).Headers)
	if hs.Get("X-Forwarded-Port") != "443" || hs.Get("X-Forwarded-Proto") != "https" || hs.Get("X-Scheme") != "https" {
		t.Errorf("over HTTPS: X-Forwarded-Port %q, -Proto %q, X-Scheme %q; want 443, https, https",
			hs.Get("X-Forwarded-Port"), hs.Get("X-Forwarded-Proto"), hs.Get("X-Scheme"))
	}
	id := h.Get("X-Request-Id")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("generated X-Request-Id %q", id)
	}

	_, body = f.get(t, "foo.com", "/", "X-Request-ID", "abc-123")
	if got := http.Header(decodeSeen(t, body).Headers).Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("incoming X-Request-Id not kept: %q", got)
	}
	_, body = f.get(t, "foo.com", "/", "X-Request-ID", "has space")
	if got := http.Header(decodeSeen(t, body).Headers).Get("X-Request-Id"); got == "has space" || len(got) != 32 {
		t.Errorf("malformed X-Request-Id passed through: %q", got)
	}
}

func TestRedirectToHTTPS(t *testing.T) {
	a := backend(t, "a")
	ssl := prefix("/", "a")
	ssl.SSLRedirect = true
	noRedirect := prefix("/keep", "a")
	force := prefix("/", "a")
	force.ForceSSLRedirect = true
	cfg := config([]*routecfg.Pool{pool("a", addr(a))},
		&routecfg.VirtualHost{Host: "tls.com", TLS: true, RedirectHTTPS: true, Routes: []*routecfg.Route{noRedirect, ssl}},
		&routecfg.VirtualHost{Host: "notls.com", Routes: []*routecfg.Route{func() *routecfg.Route { r := prefix("/", "a"); r.SSLRedirect = true; return r }()}},
		&routecfg.VirtualHost{Host: "force.com", Routes: []*routecfg.Route{force}},
		&routecfg.VirtualHost{Host: "unmatched.com", TLS: true, RedirectHTTPS: true, Routes: []*routecfg.Route{{Path: "/only", Match: routecfg.MatchExact, Pool: "a"}}},
	)
	f := newFixture(t, cfg, false)
	for _, tc := range []struct{ host, target, loc string }{
		{"tls.com", "/", "https://tls.com"},
		{"tls.com:8080", "/a/", "https://tls.com/a"},
		{"tls.com", "/a/b?x=1&y=/", "https://tls.com/a/b?x=1&y=/"},
		{"tls.com", "/a/?x=1", "https://tls.com/a/?x=1"},
		{"tls.com", "/a//b/", "https://tls.com/a//b"},
		{"force.com", "/x", "https://force.com/x"},
		{"unmatched.com", "/nope", "https://unmatched.com/nope"},
		{"tls.com", "/keep", ""},                           // ssl-redirect off on this route
		{"notls.com", "/", ""},                             // ssl-redirect needs TLS
		{"tls.com", "/.well-known/acme-challenge/tok", ""}, // ACME HTTP-01
		{"force.com", "/.well-known/acme-challenge/tok", ""},
	} {
		resp, _ := f.get(t, tc.host, tc.target)
		if tc.loc == "" {
			if resp.StatusCode != 200 {
				t.Errorf("%s%s: status %d, want 200", tc.host, tc.target, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != tc.loc {
			t.Errorf("%s%s: %d %q, want 308 %q", tc.host, tc.target, resp.StatusCode, resp.Header.Get("Location"), tc.loc)
		}
	}

	f8443 := newFixture(t, cfg, false, withRedirectPort(8443))
	resp, _ := f8443.get(t, "tls.com:80", "/a?b=c")
	if got := resp.Header.Get("Location"); got != "https://tls.com:8443/a?b=c" {
		t.Errorf("Location with port: %q", got)
	}
}

func TestRewrite(t *testing.T) {
	a := backend(t, "a")
	cfg := config([]*routecfg.Pool{pool("a", addr(a))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{
			withRewrite(regexRoute("/foo/bar/(.+)", "a"), "/new/backend/$1"),
			withRewrite(regexRoute("/something(/|$)(.*)", "a"), "/$2"),
			withRewrite(regexRoute("/abs/(.*)", "a"), "https://other.com/$1"),
			withRewrite(regexRoute("/q/(.*)", "a"), "/query?x=$1"),
			withRewrite(regexRoute("/noargs/(.*)", "a"), "/$1?"),
			withRewrite(regexRoute("/missing", "a"), "/m$3x"),
			withRewrite(regexRoute("/prefix", "a"), "/"),
			regexRoute("/plain", "a"),
		}},
	)
	f := newFixture(t, cfg, false)
	for _, tc := range []struct{ target, uri string }{
		{"/prefix", "/"},
		{"/prefix/new?a=1", "/?a=1"},
		{"/prefixelse", "/"},
		{"/PREFIX", "/"},
		{"/foo/bar/bar", "/new/backend/bar"},
		{"/foo/bar/a%20b", "/new/backend/a%20b"},
		{"/something", "/"},
		{"/something/", "/"},
		{"/something/new?k=v", "/new?k=v"},
		{"/q/z?orig=1", "/query?x=z&orig=1"},
		{"/q/z", "/query?x=z"},
		{"/noargs/z?orig=1", "/z"},
		{"/missing", "/mx"},
		{"/plain/x?y", "/plain/x?y"},
	} {
		resp, body := f.get(t, "foo.com", tc.target)
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", tc.target, resp.StatusCode)
			continue
		}
		if got := decodeSeen(t, body).URI; got != tc.uri {
			t.Errorf("%s: upstream URI %q, want %q", tc.target, got, tc.uri)
		}
	}
	resp, _ := f.get(t, "foo.com", "/abs/x/y?z=1")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://other.com/x/y?z=1" {
		t.Errorf("absolute target: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestLocalAnswers(t *testing.T) {
	a := backend(t, "a")
	cfg := config([]*routecfg.Pool{pool("a", addr(a)), pool("empty")},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{
			{Path: "/exact", Match: routecfg.MatchExact, Pool: "a"},
			{Path: "/nosvc", Match: routecfg.MatchPrefix},
			{Path: "/nobackend", Match: routecfg.MatchPrefix, Status: 404},
			{Path: "/noeps", Match: routecfg.MatchPrefix, Pool: "empty"},
			{Path: "/gone", Match: routecfg.MatchPrefix, Pool: "unknown"},
		}},
	)
	f := newFixture(t, cfg, false)
	for _, tc := range []struct {
		host, path string
		code       int
	}{
		{"nohost.com", "/", 404},
		{"foo.com", "/other", 404},
		{"foo.com", "/exact/x", 404},
		{"foo.com", "/exact", 200},
		{"foo.com", "/nosvc", 503},
		{"foo.com", "/nobackend", 404},
		{"foo.com", "/noeps", 503},
		{"foo.com", "/gone", 503},
	} {
		if resp, _ := f.get(t, tc.host, tc.path); resp.StatusCode != tc.code {
			t.Errorf("%s%s: %d, want %d", tc.host, tc.path, resp.StatusCode, tc.code)
		}
	}
	// A catch-all serves unknown hosts.
	cfg.CatchAll = &routecfg.VirtualHost{Routes: []*routecfg.Route{prefix("/", "a")}}
	f.apply(cfg)
	if resp, _ := f.get(t, "nohost.com", "/"); resp.StatusCode != 200 {
		t.Errorf("catch-all: %d", resp.StatusCode)
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

func TestUpstreamErrors(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	dead := closedAddr(t)
	cfg := config([]*routecfg.Pool{pool("dead", dead), pool("slow", addr(slow))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/dead", "dead"), prefix("/slow", "slow")}})
	f := newFixture(t, cfg, false, withResponseHeaderTimeout(100*time.Millisecond))
	if resp, body := f.get(t, "foo.com", "/dead"); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("connection refused: %d %s", resp.StatusCode, body)
	}
	if ep := f.ups.Endpoints("dead")[0]; ep.Failures() != 1 {
		t.Errorf("endpoint failures = %d, want 1", ep.Failures())
	}
	start := time.Now()
	if resp, body := f.get(t, "foo.com", "/slow"); resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("slow backend: %d %s", resp.StatusCode, body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("504 took %v", d)
	}
	for deadline := time.Now().Add(5 * time.Second); strings.Count(f.log.String(), "\n") < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(f.log.String(), `"status":504`) || !strings.Contains(f.log.String(), `"status":502`) {
		t.Errorf("access log lacks 502/504:\n%s", f.log.String())
	}
}

func TestClientCancelLogs499(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	got := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(got)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	cfg := config([]*routecfg.Pool{pool("slow", addr(slow))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/", "slow")}})
	f := newFixture(t, cfg, false)
	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: foo.com\r\n\r\n")
	<-got
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.log.String(), `"status":499`) {
		if time.Now().After(deadline) {
			t.Fatalf("no 499 in access log:\n%s", f.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRoundRobin(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	cfg := config([]*routecfg.Pool{pool("ab", addr(a), addr(b))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/", "ab")}})
	f := newFixture(t, cfg, false)
	count := map[string]int{}
	for range 10 {
		_, body := f.get(t, "foo.com", "/")
		count[decodeSeen(t, body).Name]++
	}
	if count["a"] != 5 || count["b"] != 5 {
		t.Errorf("round robin: %v", count)
	}
}

func TestWebSocketUpgrade(t *testing.T) {
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want upgrade", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		io.Copy(conn, brw) // echo raw bytes; framing is the endpoints' business
	}))
	defer ws.Close()
	cfg := config([]*routecfg.Pool{pool("ws", addr(ws))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/", "ws")}})
	f := newFixture(t, cfg, false)

	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: foo.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, msg := range []string{"hello", "world"} {
		io.WriteString(conn, msg)
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q: got %q, %v", msg, buf, err)
		}
	}
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(f.log.String(), `"status":101`) {
		if time.Now().After(deadline) {
			t.Fatalf("no 101 in access log:\n%s", f.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStreamingIsNotBuffered(t *testing.T) {
	next := make(chan struct{})
	stream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for i := range 3 {
			io.WriteString(w, "line\n")
			w.(http.Flusher).Flush()
			if i < 2 {
				select {
				case <-next:
				case <-time.After(5 * time.Second):
					return
				}
			}
		}
	}))
	defer stream.Close()
	cfg := config([]*routecfg.Pool{pool("s", addr(stream))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/", "s")}})
	f := newFixture(t, cfg, false)
	req, _ := http.NewRequest("GET", f.srv.URL+"/", nil)
	req.Host = "foo.com"
	resp, err := f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		done := make(chan error, 1)
		go func() {
			_, err := br.ReadString('\n')
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("line %d did not arrive before the backend sent more", i)
		}
		if i < 2 {
			next <- struct{}{}
		}
	}
}

func TestHSTSOnHTTPS(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=1")
		io.WriteString(w, "ok")
	}))
	defer up.Close()
	const hsts = "max-age=31536000; includeSubDomains"
	cfg := config([]*routecfg.Pool{pool("u", addr(up))},
		&routecfg.VirtualHost{Host: "foo.com", TLS: true, HSTS: hsts, Routes: []*routecfg.Route{prefix("/", "u")}},
		&routecfg.VirtualHost{Host: "nohsts.com", TLS: true, Routes: []*routecfg.Route{prefix("/", "u")}},
	)
	f := newFixture(t, cfg, true)
	resp, _ := f.get(t, "foo.com", "/")
	if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != hsts {
		t.Errorf("proxied HSTS = %q", got)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("proto %s, want HTTP/2 by ALPN", resp.Proto)
	}
	// Local answer (404 for an unmatched path on the host).
	cfg.VirtualHosts[0].Routes = []*routecfg.Route{{Path: "/only", Match: routecfg.MatchExact, Pool: "u"}}
	f.apply(cfg)
	resp, _ = f.get(t, "foo.com", "/")
	if resp.StatusCode != 404 || strings.Join(resp.Header.Values("Strict-Transport-Security"), "|") != hsts {
		t.Errorf("local 404 HSTS: %d %q", resp.StatusCode, resp.Header.Values("Strict-Transport-Security"))
	}
	resp, _ = f.get(t, "nohsts.com", "/")
	if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != "max-age=1" {
		t.Errorf("host without HSTS should pass the upstream's: %q", got)
	}
}

func TestNoHSTSOnPlainHTTP(t *testing.T) {
	a := backend(t, "a")
	cfg := config([]*routecfg.Pool{pool("a", addr(a))},
		&routecfg.VirtualHost{Host: "foo.com", HSTS: "max-age=1", Routes: []*routecfg.Route{prefix("/", "a")}})
	f := newFixture(t, cfg, false)
	if resp, _ := f.get(t, "foo.com", "/"); resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on plain HTTP")
	}
}

func TestAccessLogLine(t *testing.T) {
	a := backend(t, "a")
	cfg := config([]*routecfg.Pool{pool("a", addr(a))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/", "a")}})
	f := newFixture(t, cfg, false)
	f.get(t, "foo.com", "/x\"y?secret=1", "X-Request-ID", "rid-1")
	// The line is written after the response is sent.
	for deadline := time.Now().Add(5 * time.Second); f.log.String() == "" && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(f.log.String())), &line); err != nil {
		t.Fatalf("access log %q: %v", f.log.String(), err)
	}
	for k, want := range map[string]any{
		"client": "127.0.0.1", "host": "foo.com", "method": "GET", "path": `/x"y`,
		"status": float64(200), "upstream": addr(a), "ingress": "ns/ing", "service": "ns/a", "request_id": "rid-1",
	} {
		if line[k] != want {
			t.Errorf("%s = %#v, want %#v", k, line[k], want)
		}
	}
	for _, k := range []string{"time", "bytes", "duration_ms"} {
		if _, ok := line[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
}

func TestPathNormalisedForRouting(t *testing.T) {
	a, b := backend(t, "public"), backend(t, "admin")
	cfg := config([]*routecfg.Pool{pool("public", addr(a)), pool("admin", addr(b))},
		&routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{prefix("/public", "public"), prefix("/admin", "admin")}})
	f := newFixture(t, cfg, false)
	// The client sends the dot segments raw; Go's client would clean them.
	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /public/../admin/x HTTP/1.1\r\nHost: foo.com\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if s := decodeSeen(t, body); s.Name != "admin" {
		t.Errorf("/public/../admin/x routed to %s", s.Name)
	}
}
