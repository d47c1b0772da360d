package e2e

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestConfigMapTrafficDefaults: the controller ConfigMap's load-balance,
// proxy-next-upstream(-tries), limit-conn-status-code, proxy-buffering,
// proxy-request-buffering and client-body-buffer-size apply to every
// route; an annotation overrides only its own key, the others still come
// from the ConfigMap (ingress-nginx fills each location from the
// ConfigMap, then the annotations).
func TestConfigMapTrafficDefaults(t *testing.T) {
	// Three endpoints on one port: "bad" answers 503.
	good, _ := startHandler(t, "127.0.0.1:0", "good", func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	_, gport, _ := net.SplitHostPort(good)
	startHandler(t, "127.0.0.2:"+gport, "bad", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(503)
	})
	// ewma: a fast and a slow endpoint.
	fast, _ := startHandler(t, "127.0.0.1:0", "fast", func(w http.ResponseWriter, r *http.Request) {})
	_, fport, _ := net.SplitHostPort(fast)
	startHandler(t, "127.0.0.2:"+fport, "slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(30 * time.Millisecond) })
	// What the upstream saw of the request body's framing.
	framing, _ := startHandler(t, "127.0.0.1:0", "framing", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Seen-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Header().Set("X-Seen-Bytes", strconv.FormatInt(n, 10))
	})
	// A response written in two parts, the second after release.
	release := make(chan struct{})
	var held atomic.Int64
	stream, _ := startHandler(t, "127.0.0.1:0", "stream", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first ")
		w.(http.Flusher).Flush()
		if r.URL.Path == "/hold" {
			held.Add(1)
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
		io.WriteString(w, "second")
	})

	m := startWithConfigMap(t, map[string]string{
		"load-balance":              "ewma",
		"proxy-next-upstream":       "error timeout http_503",
		"proxy-next-upstream-tries": "1",
		"limit-conn-status-code":    "429",
		"proxy-buffering":           "on",
		"proxy-request-buffering":   "off",
		"client-body-buffer-size":   "64",
	},
		service("default", "mixed", good, "127.0.0.2:"+gport),
		service("default", "timed", fast, "127.0.0.2:"+fport),
		service("default", "framing", framing),
		service("default", "stream", stream),
		trafficIngress("ewma", "ewma.example", nil, "/", "timed"),
		trafficIngress("rr", "rr.example", map[string]string{"load-balance": "round_robin"}, "/", "timed"),
		trafficIngress("onetry", "onetry.example", nil, "/", "mixed"),
		trafficIngress("tries", "tries.example", map[string]string{"proxy-next-upstream-tries": "3"}, "/", "mixed"),
		trafficIngress("conn", "conn.example", map[string]string{"limit-connections": "1"}, "/", "stream"),
		trafficIngress("buffered", "buffered.example", nil, "/", "stream"),
		trafficIngress("unbuffered", "unbuffered.example", map[string]string{"proxy-buffering": "off"}, "/", "stream"),
		trafficIngress("streamed", "streamed.example", nil, "/", "framing"),
		trafficIngress("reqbuf", "reqbuf.example", map[string]string{"proxy-request-buffering": "on"}, "/", "framing"),
		trafficIngress("bigbuf", "bigbuf.example", map[string]string{"proxy-request-buffering": "on", "client-body-buffer-size": "1k"}, "/", "framing"),
	)
	c := m.client(nil, false)
	if d := m.diagnostics(t); strings.Contains(d, "ConfigMap") {
		t.Errorf("diagnostics for valid ConfigMap keys:\n%s", d)
	}

	// load-balance ewma from the ConfigMap on a route without any
	// annotation; the annotation's round_robin wins on its own Ingress.
	count(t, 10, func() result { return get(t, c, "http://ewma.example/") })
	if seen := count(t, 40, func() result { return get(t, c, "http://ewma.example/") }); seen["fast"] < 30 {
		t.Errorf("ConfigMap load-balance ewma sent %v; want most to the fast endpoint", seen)
	}
	if seen := count(t, 40, func() result { return get(t, c, "http://rr.example/") }); seen["fast"] != 20 || seen["slow"] != 20 {
		t.Errorf("load-balance round_robin annotation over the ConfigMap's ewma: %v", seen)
	}

	// proxy-next-upstream-tries 1: the 503 comes back; the annotation's
	// 3 tries with the ConfigMap's http_503 condition end on "good".
	if seen := count(t, 6, func() result { return get(t, c, "http://onetry.example/") }); seen["503"] == 0 {
		t.Errorf("ConfigMap proxy-next-upstream-tries 1 retried: %v", seen)
	}
	if seen := count(t, 6, func() result { return get(t, c, "http://tries.example/") }); seen["good"] != 6 {
		t.Errorf("tries from the annotation, http_503 from the ConfigMap: %v", seen)
	}

	// proxy-request-buffering off: a chunked body streams on; on, it is
	// read whole (the ConfigMap's client-body-buffer-size of 64 bytes in
	// memory, the rest in a temporary file) and sent with a
	// Content-Length.
	chunked := func(host string, n int) result {
		body := io.MultiReader(strings.NewReader(strings.Repeat("b", n)))
		return send(t, c, "POST", "http://"+host+"/", nil, body)
	}
	for _, tc := range []struct {
		host       string
		n          int
		wantLength string
	}{
		{"streamed.example", 10, "-1"},
		{"reqbuf.example", 10, "10"},
		{"reqbuf.example", 100, "100"},
		{"bigbuf.example", 100, "100"},
	} {
		r := chunked(tc.host, tc.n)
		if r.status != 200 || r.header.Get("X-Seen-Length") != tc.wantLength || r.header.Get("X-Seen-Bytes") != strconv.Itoa(tc.n) {
			t.Errorf("%s, %d chunked bytes: %d, upstream saw Content-Length %s and %s bytes; want %s", tc.host, tc.n, r.status,
				r.header.Get("X-Seen-Length"), r.header.Get("X-Seen-Bytes"), tc.wantLength)
		}
	}

	// proxy-buffering on from the ConfigMap: the flushed first part is
	// held until the response is complete; off (annotation) passes it on
	// while the upstream is still writing.
	firstRead := func(url string, whileHeld bool) (string, bool) {
		var released atomic.Bool
		if !whileHeld {
			// Released 300 ms after the upstream holds; the client's
			// first read must come after that.
			go func() {
				for held.Load() == 0 {
					time.Sleep(10 * time.Millisecond)
				}
				time.Sleep(300 * time.Millisecond)
				released.Store(true)
				release <- struct{}{}
			}()
		}
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := make([]byte, 6)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			t.Fatal(err)
		}
		wasReleased := released.Load()
		if whileHeld {
			release <- struct{}{}
		}
		io.Copy(io.Discard, resp.Body)
		return string(b), wasReleased
	}
	held.Store(0)
	if got, _ := firstRead("http://unbuffered.example/hold", true); got != "first " {
		t.Errorf("proxy-buffering off: first read %q", got)
	}
	held.Store(0)
	if got, afterRelease := firstRead("http://buffered.example/hold", false); got != "first " || !afterRelease {
		t.Errorf("ConfigMap proxy-buffering on: first part %q reached the client before the response was complete", got)
	}

	// limit-conn-status-code 429 for limit-connections.
	held.Store(0)
	done := make(chan result, 1)
	go func() {
		r, _ := sendErr(c, "GET", "http://conn.example/hold", nil, nil)
		done <- r
	}()
	eventually(t, 5*time.Second, "the held request to reach the backend", func() bool { return held.Load() == 1 })
	if r := get(t, c, "http://conn.example/quick"); r.status != 429 {
		t.Errorf("second concurrent request: %d, want the ConfigMap's 429", r.status)
	}
	release <- struct{}{}
	if r := <-done; r.status != 200 {
		t.Errorf("held request: %d", r.status)
	}
}

// TestConfigMapRetryDefaults: retry-non-idempotent adds non_idempotent to
// every location's proxy-next-upstream (ingress-nginx's buildNextUpstream),
// annotations included, and proxy-next-upstream-timeout bounds retries on
// every route.
func TestConfigMapRetryDefaults(t *testing.T) {
	good, _ := startHandler(t, "127.0.0.1:0", "good", func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	_, gport, _ := net.SplitHostPort(good)
	startHandler(t, "127.0.0.2:"+gport, "bad", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(503)
	})
	hole := blackhole(t)
	_, hport, _ := net.SplitHostPort(hole)
	holeAlive, _ := startHandler(t, "127.0.0.5:"+hport, "hole-alive", func(w http.ResponseWriter, r *http.Request) {})
	m := startWithConfigMap(t, map[string]string{
		"proxy-next-upstream":         "error timeout http_503",
		"retry-non-idempotent":        "true",
		"proxy-next-upstream-timeout": "1",
	},
		service("default", "mixed", good, "127.0.0.2:"+gport),
		service("default", "mixed2", good, "127.0.0.2:"+gport),
		service("default", "holepair", hole, holeAlive),
		trafficIngress("post", "post.example", nil, "/", "mixed"),
		trafficIngress("own", "own.example", map[string]string{"proxy-next-upstream": "error http_503"}, "/", "mixed2"),
		trafficIngress("budget", "budget.example", map[string]string{"proxy-connect-timeout": "1"}, "/", "holepair"),
	)
	c := m.client(nil, false)
	for _, host := range []string{"post.example", "own.example"} {
		if seen := count(t, 6, func() result { return send(t, c, "POST", "http://"+host+"/", nil, strings.NewReader("x")) }); seen["good"] != 6 {
			t.Errorf("%s: POST retried with retry-non-idempotent: %v", host, seen)
		}
	}
	// After a 1 s connect timeout the ConfigMap's 1 s budget is spent.
	if r := get(t, c, "http://budget.example/"); r.status != 504 {
		t.Errorf("proxy-next-upstream-timeout from the ConfigMap: %d from %q, want 504", r.status, r.backendName())
	}
}
