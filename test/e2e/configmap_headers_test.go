package e2e

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/moat-ingress/moat/internal/app"
)

// headersBackend answers every request with headers a ConfigMap may hide
// or keep, and its own Server.
func headersBackend(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Powered-By", "PHP/5.6")
		w.Header().Set("X-Debug-Token", "abc")
		w.Header().Set("X-Keep", "yes")
		w.Header().Set("Server", "backend/1.0")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w.Write([]byte("ok")) //nolint:errcheck
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func headerConfigMap(name string, data map[string]string) string {
	return strings.Replace(controllerConfigMap(data), "name: moat-config", "name: "+name, 1)
}

// TestConfigMapGlobalHeaders: proxy-set-headers reach the upstream after
// moat's forwarded headers (variables expanded per request, an empty value
// removing the header, a bad entry reported and the others kept),
// add-headers reach the client on proxied and local answers, hide-headers
// are removed; an edit of a referenced ConfigMap applies live.
func TestConfigMapGlobalHeaders(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	hdrAddr := headersBackend(t)
	dir := t.TempDir()
	ctrl := map[string]string{
		"proxy-set-headers":             "ingress/upstream-headers",
		"add-headers":                   "ingress/response-headers",
		"hide-headers":                  "X-Powered-By, x-debug-token",
		"proxy-add-original-uri-header": "true",
	}
	up := map[string]string{
		"X-Env":          "prod",
		"X-Seen-Host":    "$host and $remote_addr",
		"X-Forwarded-By": "moat",
		"User-Agent":     "",
		"X-Bad":          "t=${msec}",
	}
	resp := map[string]string{"X-Frame-Options": "DENY", "X-Served-Request": "$request_id"}
	write := func() {
		writeFile(t, dir, "all.yaml", join(controllerConfigMap(ctrl), headerConfigMap("upstream-headers", up), headerConfigMap("response-headers", resp),
			service("default", "app", appAddr), service("default", "hdrs", hdrAddr),
			ingress("default", "app", "app.example", "", "/", "app"), ingress("default", "hdrs", "hdrs.example", "", "/", "hdrs")))
	}
	write()
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.ConfigMap = "ingress/moat-config" })
	c := m.client(nil, false)

	r := req(t, c, "GET", "http://App.Example/p?q=1", map[string]string{"User-Agent": "curl/8", "X-Forwarded-By": "client"})
	if r.status != 200 || r.echo.Name != "app" {
		t.Fatalf("app: %d %s", r.status, r.body)
	}
	for name, want := range map[string]string{"X-Env": "prod", "X-Seen-Host": "app.example and 127.0.0.1", "X-Forwarded-By": "moat",
		"User-Agent": "", "X-Bad": "", "X-Original-Uri": "/p?q=1"} {
		if got := r.echoHeader(name); got != want {
			t.Errorf("upstream %s = %q, want %q", name, got, want)
		}
	}
	if r.header.Get("X-Frame-Options") != "DENY" || r.header.Get("X-Served-Request") == "" || r.header.Get("X-Served-Request") != r.echoHeader("X-Request-Id") {
		t.Errorf("add-headers on a proxied answer: %v (upstream request id %q)", r.header, r.echoHeader("X-Request-Id"))
	}
	// A local answer (no such host) carries them too, as more_set_headers
	// in nginx's http block.
	if r := get(t, c, "http://nowhere.example/"); r.status != 404 || r.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("add-headers on a local 404: %d %v", r.status, r.header)
	}
	// hide-headers: gone; others kept; add-headers replaces the upstream's
	// value; the Server is moat's.
	r = get(t, c, "http://hdrs.example/")
	if r.header.Get("X-Powered-By") != "" || r.header.Get("X-Debug-Token") != "" || r.header.Get("X-Keep") != "yes" ||
		r.header.Values("X-Frame-Options")[0] != "DENY" || len(r.header.Values("X-Frame-Options")) != 1 || r.header.Get("Server") != "moat" {
		t.Errorf("hide-headers: %v", r.header)
	}
	diags := m.diagnostics(t)
	if !strings.Contains(diags, "GlobalHeaderInvalid") || !strings.Contains(diags, "ingress/upstream-headers") || !strings.Contains(diags, "X-Bad") {
		t.Errorf("no diagnostic naming the ConfigMap and the key: %s", diags)
	}

	// Live: the referenced ConfigMap and the controller's change.
	up["X-Env"] = "staging"
	delete(up, "X-Bad")
	ctrl["allow-backend-server-header"] = "true"
	write()
	eventually(t, 5*time.Second, "the new proxy-set-headers value", func() bool {
		return req(t, c, "GET", "http://app.example/", nil).echoHeader("X-Env") == "staging"
	})
	if r := get(t, c, "http://hdrs.example/"); r.header.Get("Server") != "backend/1.0" {
		t.Errorf("allow-backend-server-header: Server %q", r.header.Get("Server"))
	}
	if strings.Contains(m.diagnostics(t), "GlobalHeaderInvalid") {
		t.Errorf("the fixed entry is still reported")
	}

	// The ConfigMap gone: reported; requests keep being served.
	writeFile(t, dir, "all.yaml", join(controllerConfigMap(ctrl), headerConfigMap("response-headers", resp),
		service("default", "app", appAddr), ingress("default", "app", "app.example", "", "/", "app")))
	eventually(t, 5*time.Second, "GlobalHeadersNotFound", func() bool { return strings.Contains(m.diagnostics(t), "GlobalHeadersNotFound") })
	if r := get(t, c, "http://app.example/"); r.status != 200 || r.echoHeader("X-Env") != "" || r.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("without the proxy-set-headers ConfigMap: %d %v", r.status, r.echo.Headers)
	}
}

// TestConfigMapHeaderParsing: nginx's defaults drop request headers with
// an underscore; enable-underscores-in-headers passes them;
// block-referers answers 403; generate-request-id false sends no
// X-Request-ID the client did not send; enable-real-ip takes the client
// address from X-Forwarded-For without trusting X-Forwarded-Proto.
func TestConfigMapHeaderParsing(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	m := startWithConfigMap(t, map[string]string{"block-referers": "~*spam\\.example", "generate-request-id": "false", "enable-real-ip": "true",
		"skip-access-log-urls": "/skip-exact, ~^/skip-re/"},
		service("default", "app", appAddr), ingress("default", "app", "app.example", "", "/", "app"))
	c := m.client(nil, false)
	r := req(t, c, "GET", "http://app.example/", map[string]string{"X_Under": "1", "X-Dash": "2", "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
	if r.status != 200 || r.echoHeader("X_Under") != "" || r.echoHeader("X-Dash") != "2" {
		t.Errorf("underscore header: %d %v", r.status, r.echo.Headers)
	}
	if r.echoHeader("X-Request-Id") != "" {
		t.Errorf("generate-request-id false: X-Request-Id %q", r.echoHeader("X-Request-Id"))
	}
	if r.echoHeader("X-Real-Ip") != "203.0.113.7" || r.echoHeader("X-Forwarded-For") != "203.0.113.7" || r.echoHeader("X-Forwarded-Proto") != "http" {
		t.Errorf("enable-real-ip: %v", r.echo.Headers)
	}
	if r := req(t, c, "GET", "http://app.example/", map[string]string{"X-Request-Id": "abc-1"}); r.echoHeader("X-Request-Id") != "abc-1" {
		t.Errorf("client's X-Request-Id: %q", r.echoHeader("X-Request-Id"))
	}
	if r := req(t, c, "GET", "http://app.example/", map[string]string{"Referer": "https://SPAM.example/x"}); r.status != 403 {
		t.Errorf("blocked referer: %d", r.status)
	}
	if r := req(t, c, "GET", "http://app.example/", map[string]string{"Referer": "https://good.example/"}); r.status != 200 {
		t.Errorf("other referer: %d", r.status)
	}

	// skip-access-log-urls: the lines are written in order, so once the
	// last request's line is there the skipped ones would be too.
	for _, p := range []string{"/skip-exact", "/skip-re/a"} {
		get(t, c, "http://app.example"+p)
	}
	// A host no Ingress names is ingress-nginx's default server: not
	// logged without enable-access-log-for-default-backend.
	if r := get(t, c, "http://unknown.example/default-server"); r.status != 404 {
		t.Errorf("unknown host: %d", r.status)
	}
	get(t, c, "http://app.example/logged-last")
	eventually(t, 5*time.Second, "the access log line of /logged-last", func() bool { return strings.Contains(m.logs.String(), `"path":"/logged-last"`) })
	if l := m.logs.String(); strings.Contains(l, `"path":"/skip-exact"`) || strings.Contains(l, `"path":"/skip-re/a"`) || strings.Contains(l, "/default-server") {
		t.Errorf("skip-access-log-urls: skipped requests logged")
	}

	m2 := startWithConfigMap(t, map[string]string{"enable-underscores-in-headers": "true", "enable-access-log-for-default-backend": "true"},
		service("default", "app", appAddr), ingress("default", "app", "app.example", "", "/", "app"))
	c2 := m2.client(nil, false)
	if r := req(t, c2, "GET", "http://app.example/", map[string]string{"X_Under": "1"}); r.echoHeader("X_Under") != "1" {
		t.Errorf("enable-underscores-in-headers: %v", r.echo.Headers)
	}
	get(t, c2, "http://unknown.example/default-server")
	eventually(t, 5*time.Second, "the default server's request logged", func() bool { return strings.Contains(m2.logs.String(), `"path":"/default-server"`) })
}

// serverMaxStreams reads the SETTINGS moat sends on a new HTTP/2
// connection and returns its SETTINGS_MAX_CONCURRENT_STREAMS.
func serverMaxStreams(t *testing.T, m *moat) uint32 {
	t.Helper()
	conn, err := tls.Dial("tcp", m.addrs.HTTPS, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}, ServerName: "app.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the server's SETTINGS: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			v, _ := sf.Value(http2.SettingMaxConcurrentStreams)
			return v
		}
	}
}

// TestConfigMapHTTP2MaxConcurrentStreams: nginx's default 128, or the
// ConfigMap's value, is what HTTP/2 clients are told; a change applies to
// new connections without a restart.
func TestConfigMapHTTP2MaxConcurrentStreams(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	dir := t.TempDir()
	docs := []string{service("default", "app", appAddr), ingress("default", "app", "app.example", "", "/", "app")}
	writeFile(t, dir, "all.yaml", join(append([]string{controllerConfigMap(map[string]string{"ssl-redirect": "false"})}, docs...)...))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.ConfigMap = "ingress/moat-config" })
	if n := serverMaxStreams(t, m); n != 128 {
		t.Errorf("default max concurrent streams %d, want 128", n)
	}
	writeFile(t, dir, "all.yaml", join(append([]string{controllerConfigMap(map[string]string{"http2-max-concurrent-streams": "7"})}, docs...)...))
	eventually(t, 5*time.Second, "max concurrent streams 7", func() bool { return serverMaxStreams(t, m) == 7 })
}

// TestConfigMapSSLRejectHandshake: with ssl-reject-handshake a handshake
// naming no served host (or none) fails; a served host's succeeds; off
// again, the default certificate answers.
func TestConfigMapSSLRejectHandshake(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	dir := t.TempDir()
	docs := []string{service("default", "app", appAddr), ingress("default", "app", "app.example", "", "/", "app")}
	writeFile(t, dir, "all.yaml", join(append([]string{controllerConfigMap(map[string]string{"ssl-reject-handshake": "true"})}, docs...)...))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.ConfigMap = "ingress/moat-config" })
	handshake := func(sni string) error {
		conn, err := tls.Dial("tcp", m.addrs.HTTPS, &tls.Config{InsecureSkipVerify: true, ServerName: sni})
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := handshake("app.example"); err != nil {
		t.Errorf("served host: %v", err)
	}
	for _, sni := range []string{"unknown.example", ""} {
		if err := handshake(sni); err == nil {
			t.Errorf("SNI %q: handshake succeeded", sni)
		}
	}
	writeFile(t, dir, "all.yaml", join(append([]string{controllerConfigMap(map[string]string{"ssl-reject-handshake": "false"})}, docs...)...))
	eventually(t, 5*time.Second, "unknown names answered again", func() bool { return handshake("unknown.example") == nil })
}
