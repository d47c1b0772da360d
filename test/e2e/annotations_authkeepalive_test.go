package e2e

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestAuthKeepalive: without auth-keepalive every auth request opens a
// connection and says Connection: close, as nginx's auth location; with
// it, connections are reused up to auth-keepalive-requests, and the
// sub-request follows ingress-nginx's keepalive mode (a Lua subrequest):
// GET, only 200 passes, X-Request-ID evaluated again unless
// auth-keepalive-share-vars.
func TestAuthKeepalive(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]int{} // path → new connections
	type seen struct{ method, connection, reqID string }
	var last seen
	auth := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = seen{r.Method, r.Header.Get("Connection"), r.Header.Get("X-Request-Id")}
		mu.Unlock()
		switch r.Header.Get("X-Token") {
		case "good":
			w.Header().Set("X-Auth-Request-Id", r.Header.Get("X-Request-Id"))
		case "accepted":
			w.WriteHeader(http.StatusAccepted)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="x"`)
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	auth.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns["all"]++
			mu.Unlock()
		}
	}
	auth.Start()
	t.Cleanup(auth.Close)
	newConns := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := conns["all"]
		conns["all"] = 0
		return n
	}
	lastSeen := func() seen {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
	app := startEcho(t, "127.0.0.1:0", "app")
	dir := t.TempDir()
	writeFile(t, dir, "all.yaml", join(
		service("default", "app", app),
		trafficIngress("plain", "plain.example", map[string]string{"auth-url": auth.URL + "/plain"}, "/", "app"),
		trafficIngress("keep", "keep.example", map[string]string{"auth-url": auth.URL + "/keep", "auth-keepalive": "4",
			"auth-keepalive-requests": "3", "auth-response-headers": "X-Auth-Request-Id"}, "/", "app"),
		trafficIngress("share", "share.example", map[string]string{"auth-url": auth.URL + "/share", "auth-keepalive": "4",
			"auth-keepalive-share-vars": "true", "auth-response-headers": "X-Auth-Request-Id"}, "/", "app"),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	call := func(method, host, tok string) result {
		return send(t, c, method, "http://"+host+"/", map[string]string{"X-Token": tok}, nil)
	}

	newConns()
	for i := 0; i < 3; i++ {
		if r := call("POST", "plain.example", "good"); r.status != 200 || r.echo.Name != "app" {
			t.Fatalf("plain: %d", r.status)
		}
	}
	if n, s := newConns(), lastSeen(); n != 3 || s.connection != "close" || s.method != "POST" {
		t.Errorf("without keepalive: %d connections for 3 requests, Connection %q, method %q; want 3, close, the original POST", n, s.connection, s.method)
	}
	// 202 passes with auth_request; 401 keeps the service's WWW-Authenticate.
	if r := call("GET", "plain.example", "accepted"); r.status != 200 {
		t.Errorf("plain, 202 from auth: %d", r.status)
	}
	if r := call("GET", "plain.example", "nope"); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("plain, 401: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}

	newConns()
	for i := 0; i < 6; i++ {
		r := call("POST", "keep.example", "good")
		if r.status != 200 || r.echo.Name != "app" {
			t.Fatalf("keepalive: %d", r.status)
		}
		// Not shared: the auth request had an ID of its own.
		if id := r.echoHeader("X-Auth-Request-Id"); id == "" || id == r.echoHeader("X-Request-Id") {
			t.Errorf("keepalive without share-vars: auth X-Request-Id %q, upstream %q", id, r.echoHeader("X-Request-Id"))
		}
	}
	if n, s := newConns(), lastSeen(); n != 2 || s.connection != "" || s.method != "GET" {
		t.Errorf("keepalive 4, 3 requests per connection: %d connections for 6 requests, Connection %q, method %q; want 2, none, GET", n, s.connection, s.method)
	}
	// The Lua subrequest: only 200 passes; a 401 comes without the
	// service's WWW-Authenticate.
	if r := call("GET", "keep.example", "accepted"); r.status != 500 {
		t.Errorf("keepalive, 202 from auth: %d, want 500", r.status)
	}
	if r := call("GET", "keep.example", "nope"); r.status != 401 || r.header.Get("WWW-Authenticate") != "" {
		t.Errorf("keepalive, 401: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
	r := call("GET", "share.example", "good")
	if id := r.echoHeader("X-Auth-Request-Id"); r.status != 200 || id == "" || id != r.echoHeader("X-Request-Id") {
		t.Errorf("share-vars: auth X-Request-Id %q, upstream %q", id, r.echoHeader("X-Request-Id"))
	}
}
