package dataplane

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/dataplane/certs"
	"github.com/moat-ingress/moat/internal/echo"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// tlsSetup serves secure.com (with its own certificate and HSTS) and
// plain.com (HTTP only) from echo backends a and b.
func tlsSetup(t *testing.T, opts ...option) (*running, *routecfg.Config) {
	r := start(t, nil, opts...)
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	cfg := config([]*routecfg.Pool{pool("a", a), pool("b", b)},
		&routecfg.VirtualHost{
			Host: "plain.com", Routes: []*routecfg.Route{prefix("/", "b")},
		},
		&routecfg.VirtualHost{
			Host: "secure.com", TLS: true, RedirectHTTPS: true, Certificate: "ns/secure",
			HSTS:   "max-age=31536000; includeSubDomains",
			Routes: []*routecfg.Route{prefix("/b", "b"), prefix("/", "a")},
		},
	)
	cfg.Certificates["ns/secure"] = r.newCert(t, "ns/secure", "secure.com")
	if err := r.dp.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	return r, cfg
}

func TestHTTPSEndToEnd(t *testing.T) {
	r, _ := tlsSetup(t)
	for _, h2 := range []bool{false, true} {
		c := r.client(h2)
		resp, body := do(t, c, "GET", "https://secure.com/b/x?q=1",
			"X-Forwarded-For", "6.6.6.6", "X-Forwarded-Proto", "http")
		if resp.StatusCode != 200 {
			t.Fatalf("h2=%v: status %d %s", h2, resp.StatusCode, body)
		}
		if want := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != want {
			t.Errorf("h2=%v: negotiated %s", h2, resp.Proto)
		}
		if got := resp.TLS.PeerCertificates[0].Subject.CommonName; got != "secure.com" {
			t.Errorf("SNI secure.com got certificate %q", got)
		}
		if v := resp.Header.Values("Strict-Transport-Security"); len(v) != 1 || v[0] != "max-age=31536000; includeSubDomains" {
			t.Errorf("HSTS %q", v)
		}
		e := echoResp(t, body)
		hdr := http.Header(e.Headers)
		if e.Name != "b" || e.Host != "secure.com" || e.URI != "/b/x?q=1" || e.Proto != "HTTP/1.1" {
			t.Errorf("h2=%v: backend saw %+v", h2, e)
		}
		for k, want := range map[string]string{
			"X-Forwarded-For":   "127.0.0.1",
			"X-Real-Ip":         "127.0.0.1",
			"X-Forwarded-Proto": "https",
			"X-Forwarded-Host":  "secure.com",
			"X-Forwarded-Port":  "443", // ingress-nginx's $pass_port, not the listener's
		} {
			if got := strings.Join(hdr.Values(k), ","); got != want {
				t.Errorf("h2=%v: %s = %q, want %q", h2, k, got, want)
			}
		}
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(hdr.Get("X-Request-Id")) {
			t.Errorf("X-Request-Id %q", hdr.Get("X-Request-Id"))
		}
	}
}

func TestSNIFallsBackToDefaultCertificate(t *testing.T) {
	r, _ := tlsSetup(t)
	conf := &tls.Config{ServerName: "unknown.com", InsecureSkipVerify: true}
	conn, err := tls.Dial("tcp", r.httpsAddr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st := conn.ConnectionState()
	if got := st.PeerCertificates[0].Subject.CommonName; got != certs.FakeCommonName {
		t.Errorf("unknown SNI got %q", got)
	}
	// No SNI at all (clients connecting by IP) also gets an answer.
	conn2, err := tls.Dial("tcp", r.httpsAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	conn2.Close()
	// TLS 1.1 is refused.
	if c, err := tls.Dial("tcp", r.httpsAddr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Error("TLS 1.1 handshake succeeded")
	}
	// The unknown host has no route: 404 on HTTPS too.
	resp, _ := do(t, &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}, "GET", "https://"+r.httpsAddr+"/")
	if resp.StatusCode != 404 {
		t.Errorf("unknown host over HTTPS: %d", resp.StatusCode)
	}
}

func TestRedirectThenHTTPS(t *testing.T) {
	r, _ := tlsSetup(t)
	c := r.client(false)
	resp, _ := do(t, c, "GET", "http://secure.com/a/?x=1")
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "https://secure.com/a/?x=1" {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on a plain-HTTP answer")
	}
	resp, _ = do(t, c, "GET", "http://secure.com/")
	if got := resp.Header.Get("Location"); got != "https://secure.com" {
		t.Errorf("GET / redirect to %q", got)
	}
	resp, body := do(t, c, "GET", resp.Header.Get("Location"))
	if resp.StatusCode != 200 || echoResp(t, body).Name != "a" {
		t.Errorf("after redirect: %d %s", resp.StatusCode, body)
	}
	// ACME challenges stay on HTTP.
	resp, body = do(t, c, "GET", "http://secure.com/.well-known/acme-challenge/token")
	if resp.StatusCode != 200 || echoResp(t, body).Path != "/.well-known/acme-challenge/token" {
		t.Errorf("acme: %d %s", resp.StatusCode, body)
	}
	// A host without TLS is served over HTTP.
	resp, body = do(t, c, "GET", "http://plain.com/")
	if resp.StatusCode != 200 || echoResp(t, body).Name != "b" {
		t.Errorf("plain host: %d %s", resp.StatusCode, body)
	}
}

func TestRedirectPortOption(t *testing.T) {
	r, _ := tlsSetup(t, func(o *Options) { o.HTTPSRedirectPort = 8443 })
	resp, _ := do(t, r.client(false), "GET", "http://secure.com:8080/p/")
	if got := resp.Header.Get("Location"); got != "https://secure.com:8443/p" {
		t.Errorf("Location %q", got)
	}
}

func TestHSTSReplacesUpstream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Add("Strict-Transport-Security", "max-age=0")
		w.Header().Add("Strict-Transport-Security", "max-age=5")
	}))
	defer up.Close()
	r, cfg := tlsSetup(t)
	cfg.Pools["a"] = pool("a", up.Listener.Addr().String())
	if err := r.dp.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	for _, h2 := range []bool{false, true} {
		resp, _ := do(t, r.client(h2), "GET", "https://secure.com/")
		if v := resp.Header.Values("Strict-Transport-Security"); len(v) != 1 || v[0] != cfg.VirtualHosts[1].HSTS {
			t.Errorf("h2=%v: HSTS %q", h2, v)
		}
	}
}

func TestRewriteEndToEnd(t *testing.T) {
	r := start(t, nil)
	a := echoBackend(t, "a")
	rootRewrite := prefix("/something", "a")
	rootRewrite.Rewrite = &routecfg.Rewrite{Pattern: regexp.MustCompile("(?i)/something"), Target: "/"}
	cfg := config([]*routecfg.Pool{pool("a", a)},
		&routecfg.VirtualHost{Host: "r.com", Routes: []*routecfg.Route{rootRewrite}},
		&routecfg.VirtualHost{Host: "re.com", Routes: []*routecfg.Route{
			regexRewrite("/foo/bar/(.+)", "a", "/new/backend/$1"),
			regexRewrite("/something(/|$)(.*)", "a", "/$2"),
			regexRewrite("/go/(.*)", "a", "https://example.org/$1"),
		}},
	)
	if err := r.dp.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	c := r.client(false)
	for _, tc := range []struct{ url, uri string }{
		{"http://r.com/something?q=1", "/?q=1"},
		{"http://r.com/something/new", "/"},
		{"http://re.com/foo/bar/bar", "/new/backend/bar"},
		{"http://re.com/something", "/"},
		{"http://re.com/something/", "/"},
		{"http://re.com/something/new?x=y", "/new?x=y"},
	} {
		resp, body := do(t, c, "GET", tc.url)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", tc.url, resp.StatusCode)
			continue
		}
		if got := echoResp(t, body).URI; got != tc.uri {
			t.Errorf("%s: upstream URI %q, want %q", tc.url, got, tc.uri)
		}
	}
	resp, _ := do(t, c, "GET", "http://re.com/go/x?y=1")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://example.org/x?y=1" {
		t.Errorf("absolute target: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestErrorsEndToEnd(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	dead := listen(t)
	deadAddr := dead.Addr().String()
	dead.Close()
	r := start(t, nil, func(o *Options) { o.ResponseHeaderTimeout = 200 * time.Millisecond })
	cfg := config([]*routecfg.Pool{pool("slow", slow.Listener.Addr().String()), pool("dead", deadAddr), pool("none")},
		&routecfg.VirtualHost{Host: "e.com", Routes: []*routecfg.Route{
			prefix("/slow", "slow"), prefix("/dead", "dead"), prefix("/none", "none"),
			{Path: "/missing-svc", Match: routecfg.MatchPrefix},
		}},
	)
	if err := r.dp.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	c := r.client(false)
	for _, tc := range []struct {
		url  string
		code int
	}{
		{"http://e.com/slow", 504},
		{"http://e.com/dead", 502},
		{"http://e.com/none", 503},
		{"http://e.com/missing-svc", 503},
		{"http://e.com/other", 404},
		{"http://nohost.com/", 404},
	} {
		if resp, _ := do(t, c, "GET", tc.url); resp.StatusCode != tc.code {
			t.Errorf("%s: %d, want %d", tc.url, resp.StatusCode, tc.code)
		}
	}
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "moat_upstream_connect_errors_total" {
			found = mf.GetMetric()[0].GetCounter().GetValue() == 1
		}
	}
	if !found {
		t.Error("moat_upstream_connect_errors_total not 1")
	}
}

func TestRoundRobinEndToEnd(t *testing.T) {
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	r := start(t, config([]*routecfg.Pool{pool("ab", a, b)},
		&routecfg.VirtualHost{Host: "rr.com", Routes: []*routecfg.Route{prefix("/", "ab")}}))
	seen := map[string]int{}
	c := r.client(false)
	for range 6 {
		_, body := do(t, c, "GET", "http://rr.com/")
		seen[echoResp(t, body).Name]++
	}
	if seen["a"] != 3 || seen["b"] != 3 {
		t.Errorf("round robin: %v", seen)
	}
}

// wsFrame writes a masked client text frame (RFC 6455 §5.2), payload ≤ 125.
func wsFrame(payload string) []byte {
	var mask [4]byte
	rand.Read(mask[:])
	b := []byte{0x81, 0x80 | byte(len(payload))}
	b = append(b, mask[:]...)
	for i := range len(payload) {
		b = append(b, payload[i]^mask[i&3])
	}
	return b
}

// readWSFrame reads one short unmasked server frame.
func readWSFrame(t *testing.T, r io.Reader) (op byte, payload string) {
	t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatal(err)
	}
	n := int(hdr[1] & 0x7f)
	if n == 126 {
		var ext [2]byte
		io.ReadFull(r, ext[:])
		n = int(binary.BigEndian.Uint16(ext[:]))
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	return hdr[0] & 0x0f, string(buf)
}

func TestWebSocketThroughProxy(t *testing.T) {
	r, _ := tlsSetup(t)
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	for _, overTLS := range []bool{false, true} {
		var conn net.Conn
		var err error
		host := "plain.com"
		if overTLS {
			host = "secure.com"
			// WebSocket over HTTP/2 (RFC 8441) is not offered: ALPN http/1.1.
			conn, err = tls.Dial("tcp", r.httpsAddr, &tls.Config{ServerName: host, RootCAs: r.roots, NextProtos: []string{"http/1.1"}})
		} else {
			conn, err = net.Dial("tcp", r.httpAddr)
		}
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: "+host+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "+key+"\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != echo.AcceptKey(key) {
			t.Fatalf("tls=%v: upgrade answered %d %v", overTLS, resp.StatusCode, resp.Header)
		}
		for _, msg := range []string{"hello", "through moat"} {
			conn.Write(wsFrame(msg))
			if op, got := readWSFrame(t, br); op != 1 || got != msg {
				t.Errorf("tls=%v: echo %q: op %d %q", overTLS, msg, op, got)
			}
		}
		conn.Close()
	}
}

// TestStreamingEndToEnd: a streamed response reaches the client as the
// upstream writes it (proxy-buffering off). The upstream writes a first
// chunk and then waits until the client has read it before finishing, so
// a proxy that held the chunk back would make the upstream wait out its
// bound; no timing is asserted.
func TestStreamingEndToEnd(t *testing.T) {
	r := start(t, nil)
	clientGot := make(chan struct{}, 1)
	waited := make(chan bool, 1) // true: the client read the first chunk before the upstream finished
	stream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", "12")
		}
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-clientGot:
			waited <- true
		case <-time.After(10 * time.Second):
			waited <- false
		}
		io.WriteString(w, "last!\n")
	}))
	t.Cleanup(stream.Close)
	cfg := config([]*routecfg.Pool{pool("s", stream.Listener.Addr().String())},
		&routecfg.VirtualHost{Host: "plain.com", Routes: []*routecfg.Route{prefix("/", "s")}},
		&routecfg.VirtualHost{Host: "secure.com", TLS: true, Certificate: "ns/secure", Routes: []*routecfg.Route{prefix("/", "s")}},
	)
	cfg.Certificates["ns/secure"] = r.newCert(t, "ns/secure", "secure.com")
	if err := r.dp.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url string
		h2  bool
	}{
		{"http://plain.com/?chunked=1", false},
		{"http://plain.com/", false}, // with a Content-Length
		{"https://secure.com/?chunked=1", true},
		{"https://secure.com/", true},
	} {
		resp, err := r.client(tc.h2).Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		first, err := br.ReadString('\n')
		if err != nil || first != "first\n" {
			t.Fatalf("%s: first line %q, %v", tc.url, first, err)
		}
		clientGot <- struct{}{}
		rest, _ := io.ReadAll(br)
		resp.Body.Close()
		if !<-waited {
			t.Errorf("%s: the first chunk reached the client only after the upstream finished: buffered", tc.url)
		}
		if string(rest) != "last!\n" {
			t.Errorf("%s: rest %q", tc.url, rest)
		}
	}
}

func TestInvalidApplyKeepsLastGood(t *testing.T) {
	a := echoBackend(t, "a")
	good := config([]*routecfg.Pool{pool("a", a)},
		&routecfg.VirtualHost{Host: "k.com", Routes: []*routecfg.Route{prefix("/", "a")}})
	r := start(t, good)
	bad := []*routecfg.Config{
		nil,
		config(nil, &routecfg.VirtualHost{Host: "k.com", Routes: []*routecfg.Route{prefix("/", "missing")}}),
		config([]*routecfg.Pool{pool("a", a)}, &routecfg.VirtualHost{Host: "k.com", Routes: []*routecfg.Route{{Path: "/", Match: routecfg.MatchRegex, Pool: "a"}}}),
		config([]*routecfg.Pool{pool("a", a)}, &routecfg.VirtualHost{Host: "k.com", Certificate: "ns/nope", Routes: []*routecfg.Route{prefix("/", "a")}}),
		config([]*routecfg.Pool{pool("a", a)}, nil),
	}
	for i, cfg := range bad {
		if err := r.dp.Apply(cfg); err == nil {
			t.Errorf("bad config #%d accepted", i)
		}
	}
	if resp, body := do(t, r.client(false), "GET", "http://k.com/"); resp.StatusCode != 200 || echoResp(t, body).Name != "a" {
		t.Errorf("after bad applies: %d %s", resp.StatusCode, body)
	}
	mfs, _ := r.reg.Gather()
	seen := 0
	for _, mf := range mfs {
		want, ok := map[string]float64{"nginx_ingress_controller_success": 1, "nginx_ingress_controller_errors": float64(len(bad))}[mf.GetName()]
		if !ok {
			continue
		}
		seen++
		if got := mf.GetMetric()[0].GetCounter().GetValue(); got != want {
			t.Errorf("%s = %v, want %v", mf.GetName(), got, want)
		}
	}
	if seen != 2 {
		t.Errorf("success and errors: %d of 2 families found", seen)
	}
}

func TestInFlightRequestKeepsItsConfig(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "old")
	}))
	defer old.Close()
	b := echoBackend(t, "new")
	r := start(t, config([]*routecfg.Pool{pool("old", old.Listener.Addr().String())},
		&routecfg.VirtualHost{Host: "f.com", Routes: []*routecfg.Route{prefix("/", "old")}}))
	c := r.client(false)
	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := c.Get("http://f.com/")
		if err != nil {
			done <- result{err: err}
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{code: resp.StatusCode, body: string(body)}
	}()
	<-arrived
	// The old pool disappears entirely in the new config.
	if err := r.dp.Apply(config([]*routecfg.Pool{pool("new", b)},
		&routecfg.VirtualHost{Host: "f.com", Routes: []*routecfg.Route{prefix("/", "new")}})); err != nil {
		t.Fatal(err)
	}
	if resp, body := do(t, c, "GET", "http://f.com/"); echoResp(t, body).Name != "new" {
		t.Errorf("new request: %d %s", resp.StatusCode, body)
	}
	close(release)
	res := <-done
	if res.err != nil || res.code != 200 || res.body != "old" {
		t.Errorf("in-flight request: %+v", res)
	}
}

func TestShutdownDrainsInFlight(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "done")
	}))
	defer slow.Close()
	r := start(t, config([]*routecfg.Pool{pool("s", slow.Listener.Addr().String())},
		&routecfg.VirtualHost{Host: "s.com", Routes: []*routecfg.Route{prefix("/", "s")}}))
	done := make(chan string, 1)
	go func() {
		resp, err := r.client(false).Get("http://s.com/")
		if err != nil {
			done <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(body)
	}()
	<-arrived
	r.cancel()
	time.Sleep(50 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", r.httpAddr, time.Second); err == nil {
		t.Error("listener still accepting after shutdown began")
	}
	close(release)
	if got := <-done; got != "done" {
		t.Errorf("in-flight request during shutdown: %q", got)
	}
}

func TestAccessLogAndMetrics(t *testing.T) {
	a := echoBackend(t, "a")
	r := start(t, config([]*routecfg.Pool{pool("a", a)},
		&routecfg.VirtualHost{Host: "*.m.com", Routes: []*routecfg.Route{prefix("/", "a")}}))
	do(t, r.client(false), "GET", "http://x.m.com/p", "X-Request-ID", "req-1")
	// The line is written after the response is sent.
	for deadline := time.Now().Add(5 * time.Second); r.log.String() == "" && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.log.String())), &line); err != nil {
		t.Fatalf("access log %q: %v", r.log.String(), err)
	}
	if line["host"] != "x.m.com" || line["ingress"] != "ns/web" || line["service"] != "ns/a" ||
		line["request_id"] != "req-1" || line["status"] != float64(200) || line["upstream"] != a {
		t.Errorf("access log line %v", line)
	}
	mfs, _ := r.reg.Gather()
	ok := false
	for _, mf := range mfs {
		if mf.GetName() != "nginx_ingress_controller_requests" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			// The host label is the configured pattern, not the Host header.
			ok = ok || (labels["host"] == "*.m.com" && labels["status"] == "200" && m.GetCounter().GetValue() == 1)
		}
	}
	if !ok {
		t.Error("nginx_ingress_controller_requests{host=\"*.m.com\",status=\"200\"} is not 1")
	}
}

func TestValidate(t *testing.T) {
	cert := &routecfg.Certificate{Ref: "ns/c"}
	for name, tc := range map[string]struct {
		cfg  *routecfg.Config
		want string
	}{
		"empty is fine":     {&routecfg.Config{}, ""},
		"nil":               {nil, "nil"},
		"nil vhost":         {config(nil, nil), "nil"},
		"empty host":        {config(nil, &routecfg.VirtualHost{}), "empty host"},
		"duplicate host":    {config(nil, &routecfg.VirtualHost{Host: "a"}, &routecfg.VirtualHost{Host: "A"}), "twice"},
		"nil route":         {config(nil, &routecfg.VirtualHost{Host: "a", Routes: []*routecfg.Route{nil}}), "nil"},
		"missing pool":      {config(nil, &routecfg.VirtualHost{Host: "a", Routes: []*routecfg.Route{prefix("/", "p")}}), `pool "p" not in config`},
		"regex nil":         {config(nil, &routecfg.VirtualHost{Host: "a", Routes: []*routecfg.Route{{Match: routecfg.MatchRegex}}}), "compiled regex"},
		"rewrite nil":       {config(nil, &routecfg.VirtualHost{Host: "a", Routes: []*routecfg.Route{{Rewrite: &routecfg.Rewrite{}}}}), "compiled pattern"},
		"missing cert":      {config(nil, &routecfg.VirtualHost{Host: "a", Certificate: "ns/c"}), `certificate "ns/c" not in config`},
		"bad HSTS":          {config(nil, &routecfg.VirtualHost{Host: "a", HSTS: "x\r\ny"}), "HSTS"},
		"bad endpoint":      {config([]*routecfg.Pool{pool("p", "nohostport")}), "not host:port"},
		"catch-all checked": {&routecfg.Config{CatchAll: &routecfg.VirtualHost{Routes: []*routecfg.Route{prefix("/", "p")}}}, `host "_"`},
		"cert without key": {func() *routecfg.Config {
			c := config(nil)
			c.Certificates["ns/c"] = cert
			return c
		}(), "no certificate"},
	} {
		err := Validate(tc.cfg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want it to mention %q", name, err, tc.want)
		}
	}
}

func TestNewNeedsDefaultCert(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a default certificate succeeded")
	}
}

func TestServeHTTPOnly(t *testing.T) {
	def, err := certs.GenerateDefault(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dp, err := New(Options{DefaultCert: def})
	if err != nil {
		t.Fatal(err)
	}
	if err := dp.Serve(t.Context(), nil, nil, nil); err == nil {
		t.Error("Serve with no listeners succeeded")
	}
	ln := listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- dp.Serve(ctx, ln, nil, func() { close(ready) }) }()
	<-ready
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("empty config answered %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
