package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// mirrorSink is a mirror backend that records what reaches it; while
// hold is open it keeps every request waiting.
type mirrorSink struct {
	mu   sync.Mutex
	got  []string // "METHOD URI header=X-Header-Set body=..."
	hold chan struct{}
}

func startMirror(t *testing.T, hold bool) (*mirrorSink, string) {
	t.Helper()
	s := &mirrorSink{}
	if hold {
		s.hold = make(chan struct{})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, fmt.Sprintf("%s %s header=%s body=%s", r.Method, r.RequestURI, r.Header.Get("X-Header-Set"), b))
		s.mu.Unlock()
		if s.hold != nil {
			select {
			case <-s.hold:
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(http.StatusTeapot) // discarded by moat
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		if s.hold != nil {
			close(s.hold)
		}
		_ = srv.Close()
	})
	return s, ln.Addr().String()
}

func (s *mirrorSink) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// count is the number of requests whose URI starts with prefix.
func (s *mirrorSink) count(prefix string) int {
	n := 0
	for _, g := range s.requests() {
		if strings.HasPrefix(strings.SplitN(g, " ", 3)[1], prefix) {
			n++
		}
	}
	return n
}

const gatewayHTTP = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80}]
`

// HTTPRoute RequestMirror, as the conformance tests HTTPRouteRequestMirror,
// HTTPRouteRequestMultipleMirrors and HTTPRouteRequestPercentageMirror
// check it: the client gets the main backend's answer, each mirror gets a
// copy (headers as changed by the route, the body of a POST), a percentage
// is roughly honoured over a bounded count, and a mirror that never
// answers does not hold up the main path.
func TestGatewayAPIRequestMirror(t *testing.T) {
	dir := t.TempDir()
	web := startEcho(t, "127.0.0.1:0", "web")
	m1, m1Addr := startMirror(t, false)
	m2, m2Addr := startMirror(t, false)
	slow, slowAddr := startMirror(t, true)
	writeFile(t, dir, "gateway.yaml", join(service("app", "web", web), service("app", "m1", m1Addr), service("app", "m2", m2Addr),
		service("app", "slow", slowAddr), gatewayHTTP, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mirror, namespace: app}
spec:
  parentRefs: [{name: gw}]
  hostnames: [m.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /mirror}}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: m1, port: 80}}}]
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /multi}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-Header-Set, value: set-overwrites-values}]}
    - {type: RequestMirror, requestMirror: {backendRef: {name: m1, port: 80}}}
    - {type: RequestMirror, requestMirror: {backendRef: {name: m2, port: 80}}}
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /percent}}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: m2, port: 80}, percent: 20}}]
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /fraction}}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: m2, port: 80}, fraction: {numerator: 25, denominator: 50}}}]
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /slow}}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: slow, port: 80}}}]
    backendRefs: [{name: web, port: 80}]
`))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)

	r := get(t, c, "http://m.example.com/mirror?q=1")
	if r.status != 200 || r.echo.Name != "web" {
		t.Fatalf("/mirror: %d from %q, want 200 from web", r.status, r.echo.Name)
	}
	eventually(t, 5*time.Second, "the copy of /mirror at m1", func() bool { return m1.count("/mirror") == 1 })
	if g := m1.requests()[0]; g != "GET /mirror?q=1 header= body=" {
		t.Errorf("m1 got %q", g)
	}

	resp, err := c.Post("http://m.example.com/multi/post", "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /multi/post: %d", resp.StatusCode)
	}
	eventually(t, 5*time.Second, "copies of /multi at m1 and m2", func() bool { return m1.count("/multi") == 1 && m2.count("/multi") == 1 })
	for _, s := range []*mirrorSink{m1, m2} {
		got := s.requests()
		if g := got[len(got)-1]; g != "POST /multi/post header=set-overwrites-values body=payload" {
			t.Errorf("mirror got %q", g)
		}
	}

	// A mirror that never answers: the main requests are answered all the
	// same (each mirror copy waits at the sink meanwhile).
	for i := range 5 {
		if r := get(t, c, "http://m.example.com/slow/"+strconv.Itoa(i)); r.status != 200 || r.echo.Name != "web" {
			t.Fatalf("/slow/%d: %d from %q while the mirror holds its copies", i, r.status, r.echo.Name)
		}
	}
	eventually(t, 5*time.Second, "the slow mirror's copies", func() bool { return slow.count("/slow") == 5 })
	// The answered copies are counted; the slow mirror's are in flight.
	eventually(t, 5*time.Second, `moat_mirror_requests_total{result="sent"} 3`, func() bool {
		return metricValue(t, m, `moat_mirror_requests_total{result="sent"}`) == "3"
	})
	if v := metricValue(t, m, `moat_mirror_requests_total{result="dropped"}`); v != "0" {
		t.Errorf(`moat_mirror_requests_total{result="dropped"} = %q, want 0`, v)
	}

	// Percentages over a bounded count: within four standard deviations
	// of the binomial mean (a false failure about once in 15,000 runs).
	const n = 400
	for _, tc := range []struct {
		path string
		p    float64
	}{{"/percent", 0.2}, {"/fraction", 0.5}} {
		for i := range n {
			if r := get(t, c, "http://m.example.com"+tc.path+"/"+strconv.Itoa(i)); r.status != 200 {
				t.Fatalf("%s: %d", tc.path, r.status)
			}
		}
		got := settled(func() int { return m2.count(tc.path) })
		mean := n * tc.p
		sd := sqrt(n * tc.p * (1 - tc.p))
		if float64(got) < mean-4*sd || float64(got) > mean+4*sd {
			t.Errorf("%s: %d of %d requests mirrored, want about %.0f (±%.0f)", tc.path, got, n, mean, 4*sd)
		}
	}
}

// settled returns f once two reads 100 ms apart agree: copies in flight
// on loopback have then arrived.
func settled(f func() int) int {
	last := f()
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		n := f()
		if n == last {
			return n
		}
		last = n
	}
	return last
}

func sqrt(x float64) float64 {
	z := x / 2
	for range 30 {
		z -= (z*z - x) / (2 * z)
	}
	return z
}

// flaky is the conformance suite's retry simulation (echo-basic's
// /retry/ handler): the first succeedAfter requests of one uuid fail,
// with responseCode or, without it, a TCP reset, each after delayRetry.
func startFlaky(t *testing.T) (string, func() int) {
	t.Helper()
	var mu sync.Mutex
	attempts := map[string]int{}
	total := 0
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		after, _ := strconv.Atoi(q.Get("succeedAfter"))
		mu.Lock()
		total++
		n := attempts[q.Get("uuid")]
		if n < after {
			attempts[q.Get("uuid")] = n + 1
		}
		mu.Unlock()
		if n >= after {
			_, _ = io.WriteString(w, "ok after "+strconv.Itoa(n))
			return
		}
		if d, err := time.ParseDuration(q.Get("delayRetry")); err == nil {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if code, err := strconv.Atoi(q.Get("responseCode")); err == nil {
			w.WriteHeader(code)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = conn.Close()
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return total }
}

// HTTPRoute retry on a one-endpoint backend, with the conformance test
// HTTPRouteRetry's routes and cases, plus connection resets
// (HTTPRouteRetryConnectionError), attempts that time out at
// backendRequest (HTTPRouteRetryBackendTimeout) and a POST with a body.
func TestGatewayAPIRetry(t *testing.T) {
	dir := t.TempDir()
	flaky, total := startFlaky(t)
	writeFile(t, dir, "gateway.yaml", join(service("app", "flaky", flaky), gatewayHTTP, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: retries, namespace: app}
spec:
  parentRefs: [{name: gw}]
  hostnames: [r.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /retry/code-500-attempts-3}}]
    retry: {codes: [500], attempts: 3}
    backendRefs: [{name: flaky, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /retry/code-all-attempts-2}}]
    retry: {codes: [500, 502, 503, 504], attempts: 2, backoff: 10ms}
    backendRefs: [{name: flaky, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /retry/timeout}}]
    retry: {attempts: 2}
    timeouts: {backendRequest: 200ms}
    backendRefs: [{name: flaky, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /retry/none}}]
    backendRefs: [{name: flaky, port: 80}]
`))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	id := 0
	for _, tc := range []struct {
		path, query string
		want        int
		tries       int
	}{
		{"/retry/code-500-attempts-3", "responseCode=500&succeedAfter=2", 200, 3},
		{"/retry/code-500-attempts-3", "responseCode=500&succeedAfter=4", 500, 4},
		{"/retry/code-500-attempts-3", "responseCode=503&succeedAfter=2", 503, 1},
		// Resets: the upstream transport also tries a request again once
		// itself when a reused connection fails before any byte (a stale
		// keep-alive connection looks the same), so tries are not counted.
		{"/retry/code-500-attempts-3", "succeedAfter=3", 200, -1},
		{"/retry/code-all-attempts-2", "responseCode=500&succeedAfter=1", 200, 2},
		{"/retry/code-all-attempts-2", "responseCode=500&succeedAfter=3", 500, 3},
		{"/retry/code-all-attempts-2", "responseCode=502&succeedAfter=1", 200, 2},
		{"/retry/code-all-attempts-2", "responseCode=502&succeedAfter=3", 502, 3},
		{"/retry/code-all-attempts-2", "responseCode=503&succeedAfter=1", 200, 2},
		{"/retry/code-all-attempts-2", "responseCode=503&succeedAfter=3", 503, 3},
		{"/retry/code-all-attempts-2", "responseCode=504&succeedAfter=1", 200, 2},
		{"/retry/code-all-attempts-2", "responseCode=504&succeedAfter=3", 504, 3},
		{"/retry/code-all-attempts-2", "succeedAfter=10", 502, -1}, // a connection error answers 502
		{"/retry/timeout", "responseCode=200&delayRetry=2s&succeedAfter=2", 200, 3},
		{"/retry/timeout", "responseCode=200&delayRetry=2s&succeedAfter=3", 504, 3},
		{"/retry/none", "responseCode=500&succeedAfter=1", 500, 1},
	} {
		id++
		before := total()
		url := fmt.Sprintf("http://r.example.com%s?uuid=%d&%s", tc.path, id, tc.query)
		r := get(t, c, url)
		if r.status != tc.want {
			t.Errorf("%s?%s: %d, want %d", tc.path, tc.query, r.status, tc.want)
		}
		if n := total() - before; tc.tries >= 0 && n != tc.tries {
			t.Errorf("%s?%s: %d tries, want %d", tc.path, tc.query, n, tc.tries)
		}
	}

	// A POST's body is sent again on each try.
	id++
	resp, err := c.Post(fmt.Sprintf("http://r.example.com/retry/code-500-attempts-3?uuid=%d&responseCode=500&succeedAfter=2", id), "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok after 2" {
		t.Errorf("POST: %d %q, want 200 after two failures", resp.StatusCode, b)
	}
}
