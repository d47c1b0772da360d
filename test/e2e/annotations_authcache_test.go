package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestAuthCache: with auth-cache-key the auth service is asked once per
// location and key value while the answer is fresh; auth-cache-duration
// says which statuses are kept, and the answer's own Cache-Control or
// Set-Cookie wins, as nginx's proxy_cache on ingress-nginx's auth location.
// The ConfigMap's global-auth-cache-key does the same for global-auth-url.
func TestAuthCache(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("X-Token")
		mu.Lock()
		hits[r.URL.Path+" "+tok]++
		n := hits[r.URL.Path+" "+tok]
		mu.Unlock()
		w.Header().Set("X-User", fmt.Sprintf("%s-%d", tok, n))
		switch tok {
		case "good", "good2":
		case "nostore":
			w.Header().Set("Cache-Control", "no-store")
		case "cookie":
			w.Header().Set("Set-Cookie", "s=1")
		case "forbidden":
			w.WriteHeader(403)
		default:
			w.WriteHeader(401)
		}
	}))
	t.Cleanup(auth.Close)
	hitsFor := func(path, tok string) int {
		mu.Lock()
		defer mu.Unlock()
		return hits[path+" "+tok]
	}
	app := startEcho(t, "127.0.0.1:0", "app")
	cached := map[string]string{"auth-url": auth.URL + "/own", "auth-cache-key": "$http_x_token", "auth-cache-duration": "200 401 10m",
		"auth-response-headers": "X-User"}
	m := startWithConfigMap(t, map[string]string{"global-auth-url": auth.URL + "/global", "global-auth-cache-key": "$remote_user:$http_x_token",
		"global-auth-cache-duration": "200 10m", "global-auth-response-headers": "X-User"},
		service("default", "app", app),
		trafficIngress("cached", "cache.example", cached, "/a", "app", "/b", "app"),
		trafficIngress("uncached", "nocache.example", map[string]string{"auth-url": auth.URL + "/plain", "auth-response-headers": "X-User"}, "/", "app"),
		trafficIngress("global", "global.example", nil, "/", "app"),
	)
	c := m.client(nil, false)
	call := func(url, tok string) result {
		return send(t, c, "GET", url, map[string]string{"X-Token": tok}, nil)
	}

	// One auth request for two client requests with the same key; the
	// cached answer still supplies auth-response-headers.
	for i := 0; i < 2; i++ {
		if r := call("http://cache.example/a", "good"); r.status != 200 || r.echo.Name != "app" || r.echoHeader("X-User") != "good-1" {
			t.Errorf("cached 200 #%d: %d, X-User %q", i, r.status, r.echoHeader("X-User"))
		}
	}
	if n := hitsFor("/own", "good"); n != 1 {
		t.Errorf("auth service asked %d times for one key and location, want 1", n)
	}
	// Another key, and another location of the same Ingress, ask again.
	call("http://cache.example/a", "good2")
	call("http://cache.example/b", "good")
	if n := hitsFor("/own", "good2"); n != 1 {
		t.Errorf("second key: %d auth requests", n)
	}
	if n := hitsFor("/own", "good"); n != 2 {
		t.Errorf("second location: %d auth requests in all, want 2", n)
	}
	// 401 is in the duration list: cached. 403 is not.
	for i := 0; i < 2; i++ {
		if r := call("http://cache.example/a", "nope"); r.status != 401 {
			t.Errorf("cached 401 #%d: %d", i, r.status)
		}
		if r := call("http://cache.example/a", "forbidden"); r.status != 403 {
			t.Errorf("403 #%d: %d", i, r.status)
		}
	}
	if a, b := hitsFor("/own", "nope"), hitsFor("/own", "forbidden"); a != 1 || b != 2 {
		t.Errorf("401 asked %d times (want 1), 403 %d times (want 2)", a, b)
	}
	// The answer's Cache-Control: no-store and Set-Cookie keep it out.
	for i := 0; i < 2; i++ {
		call("http://cache.example/a", "nostore")
		call("http://cache.example/a", "cookie")
		call("http://nocache.example/", "good")
	}
	if a, b, p := hitsFor("/own", "nostore"), hitsFor("/own", "cookie"), hitsFor("/plain", "good"); a != 2 || b != 2 || p != 2 {
		t.Errorf("no-store %d, Set-Cookie %d, no auth-cache-key %d auth requests; want 2 each", a, b, p)
	}
	// global-auth-cache-key with $remote_user.
	basic := func(user string) result {
		rq, _ := http.NewRequest("GET", "http://global.example/", nil)
		rq.SetBasicAuth(user, "pw")
		rq.Header.Set("X-Token", "good")
		resp, err := c.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return result{status: resp.StatusCode}
	}
	for _, u := range []string{"alice", "alice", "bob"} {
		if r := basic(u); r.status != 200 {
			t.Errorf("global auth for %s: %d", u, r.status)
		}
	}
	if n := hitsFor("/global", "good"); n != 2 {
		t.Errorf("global auth asked %d times for two users, want 2", n)
	}
}
