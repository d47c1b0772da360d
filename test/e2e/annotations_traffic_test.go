package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/echo"
)

// End-to-end tests of the traffic annotation families (canary, affinity,
// balancing, limits, body size, timeouts, retries, buffering) over real
// HTTP in file mode.

const pfx = "nginx.ingress.kubernetes.io/"

// trafficIngress is a v1 Ingress for one host with annotations (names
// without the prefix) and path→service pairs (Prefix, port 80).
func trafficIngress(name, host string, ann map[string]string, paths ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: %q\n  namespace: default\n", name)
	if len(ann) > 0 {
		keys := make([]string, 0, len(ann))
		for k := range ann {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("  annotations:\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "    %s%s: %q\n", pfx, k, ann[k])
		}
	}
	fmt.Fprintf(&b, "spec:\n  rules:\n  - host: %q\n    http:\n      paths:\n", host)
	for i := 0; i+1 < len(paths); i += 2 {
		fmt.Fprintf(&b, "      - {path: %q, pathType: Prefix, backend: {service: {name: %s, port: {number: 80}}}}\n", paths[i], paths[i+1])
	}
	return b.String()
}

// send makes one request with headers and an optional body.
func send(t *testing.T, c *http.Client, method, url string, hdr map[string]string, body io.Reader) result {
	t.Helper()
	r, err := sendErr(c, method, url, hdr, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func sendErr(c *http.Client, method, url string, hdr map[string]string, body io.Reader) (result, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return result{}, err
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, body: b, proto: resp.Proto}
	if err != nil {
		return r, err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(b, &r.echo)
	}
	return r, nil
}

// backendName is the echo backend that answered (JSON body or header).
func (r result) backendName() string {
	if r.echo.Name != "" {
		return r.echo.Name
	}
	return r.header.Get(echo.NameHeader)
}

// startHandler serves h on addr until the test ends; stop closes it
// earlier (a dead endpoint).
func startHandler(t *testing.T, addr, name string, h http.HandlerFunc) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(echo.NameHeader, name)
		h(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	var once atomic.Bool
	stop := func() {
		if once.CompareAndSwap(false, true) {
			_ = srv.Close()
		}
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// deadAddr is an address on 127.0.0.2 where nothing listens, on port.
func deadAddr(t *testing.T, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// count tallies which backend answered n requests.
func count(t *testing.T, n int, do func() result) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		r := do()
		if r.status != 200 {
			seen[fmt.Sprint(r.status)]++
			continue
		}
		seen[r.backendName()]++
	}
	return seen
}

// TestCanary: header → cookie → weight precedence, always/never, header
// value and pattern, weights 0, 50 and 100; a canary Ingress older than
// its main one; a canary without endpoints leaves traffic on the main.
func TestCanary(t *testing.T) {
	dir := t.TempDir()
	stable := startEcho(t, "127.0.0.1:0", "stable")
	beta := startEcho(t, "127.0.0.1:0", "beta")
	canaryOf := func(name, host, svc string, ann map[string]string) string {
		ann["canary"] = "true"
		s := trafficIngress(name, host, ann, "/", svc)
		// Older than every main Ingress: merging must not depend on order.
		return strings.Replace(s, "namespace: default\n", "namespace: default\n  creationTimestamp: \"2020-01-01T00:00:00Z\"\n", 1)
	}
	writeFile(t, dir, "canary.yaml", join(
		service("default", "stable", stable),
		service("default", "beta", beta),
		service("default", "empty"),
		trafficIngress("main", "shop.example", nil, "/", "stable"),
		canaryOf("c-header", "shop.example", "beta", map[string]string{"canary-by-header": "X-Canary", "canary-by-cookie": "use_beta", "canary-weight": "0"}),
		trafficIngress("main-v", "value.example", nil, "/", "stable"),
		canaryOf("c-value", "value.example", "beta", map[string]string{"canary-by-header": "X-Version", "canary-by-header-value": "v2"}),
		trafficIngress("main-p", "pattern.example", nil, "/", "stable"),
		canaryOf("c-pattern", "pattern.example", "beta", map[string]string{"canary-by-header": "X-Version", "canary-by-header-pattern": "^v(2|3)$"}),
		trafficIngress("main-w50", "w50.example", nil, "/", "stable"),
		canaryOf("c-w50", "w50.example", "beta", map[string]string{"canary-weight": "50"}),
		trafficIngress("main-w100", "w100.example", nil, "/", "stable"),
		canaryOf("c-w100", "w100.example", "beta", map[string]string{"canary-weight": "100"}),
		trafficIngress("main-total", "total.example", nil, "/", "stable"),
		canaryOf("c-total", "total.example", "beta", map[string]string{"canary-weight": "1", "canary-weight-total": "1000"}),
		trafficIngress("main-empty", "empty.example", nil, "/", "stable"),
		canaryOf("c-empty", "empty.example", "empty", map[string]string{"canary-weight": "100"}),
		canaryOf("c-orphan", "orphan.example", "beta", map[string]string{"canary-weight": "100"}),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)

	for _, tc := range []struct {
		host string
		hdr  map[string]string
		want string
	}{
		{"shop.example", nil, "stable"},
		{"shop.example", map[string]string{"X-Canary": "always"}, "beta"},
		{"shop.example", map[string]string{"X-Canary": "never"}, "stable"},
		{"shop.example", map[string]string{"Cookie": "use_beta=always"}, "beta"},
		{"shop.example", map[string]string{"Cookie": "a=b; use_beta=always"}, "beta"},
		{"shop.example", map[string]string{"Cookie": "use_beta=never"}, "stable"},
		// The header decides before the cookie; other values fall through.
		{"shop.example", map[string]string{"X-Canary": "never", "Cookie": "use_beta=always"}, "stable"},
		{"shop.example", map[string]string{"X-Canary": "maybe", "Cookie": "use_beta=always"}, "beta"},
		{"value.example", map[string]string{"X-Version": "v2"}, "beta"},
		{"value.example", map[string]string{"X-Version": "v3"}, "stable"},
		{"value.example", map[string]string{"X-Version": "always"}, "stable"},
		{"pattern.example", map[string]string{"X-Version": "v3"}, "beta"},
		{"pattern.example", map[string]string{"X-Version": "v4"}, "stable"},
		{"w100.example", nil, "beta"},
		{"w100.example", map[string]string{"Cookie": "use_beta=never"}, "beta"},
		{"empty.example", nil, "stable"},
	} {
		for i := 0; i < 5; i++ {
			r := send(t, c, "GET", "http://"+tc.host+"/x", tc.hdr, nil)
			if r.status != 200 || r.backendName() != tc.want {
				t.Fatalf("%s %v: %d from %q, want %s", tc.host, tc.hdr, r.status, r.backendName(), tc.want)
			}
		}
	}
	seen := count(t, 200, func() result { return get(t, c, "http://w50.example/") })
	if seen["beta"] < 60 || seen["stable"] < 60 {
		t.Errorf("weight 50: %v, want about half each", seen)
	}
	seen = count(t, 200, func() result { return get(t, c, "http://total.example/") })
	if seen["beta"] > 10 || seen["stable"] < 190 {
		t.Errorf("weight 1 of 1000: %v", seen)
	}
	if r := get(t, c, "http://orphan.example/"); r.status != 404 {
		t.Errorf("a canary without main route created a route: %d", r.status)
	}
	if d := m.diagnostics(t); !strings.Contains(d, "CanaryWithoutMain") {
		t.Errorf("no CanaryWithoutMain diagnostic:\n%s", d)
	}
}

// affinityCookie returns the Set-Cookie line for name, or "".
func setCookie(r result, name string) string {
	for _, v := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(v, name+"=") {
			return v
		}
	}
	return ""
}

// cookiePair is "name=value" of a Set-Cookie line.
func cookiePair(sc string) string {
	p, _, _ := strings.Cut(sc, ";")
	return p
}

// TestAffinity: a cookie keeps a client on one endpoint (balanced and
// persistent), never shows an address, carries the configured attributes,
// survives a config swap, and moves on failure only with
// session-cookie-change-on-failure.
func TestAffinity(t *testing.T) {
	dir := t.TempDir()
	one := startEcho(t, "127.0.0.1:0", "one")
	_, port, _ := net.SplitHostPort(one)
	startEcho(t, "127.0.0.2:"+port, "two")
	// A pair whose second endpoint can be stopped.
	fOne, _ := startHandler(t, "127.0.0.1:0", "f-one", func(w http.ResponseWriter, r *http.Request) {})
	_, fport, _ := net.SplitHostPort(fOne)
	_, stopTwo := startHandler(t, "127.0.0.2:"+fport, "f-two", func(w http.ResponseWriter, r *http.Request) {})
	gOne, _ := startHandler(t, "127.0.0.1:0", "g-one", func(w http.ResponseWriter, r *http.Request) {})
	_, gport, _ := net.SplitHostPort(gOne)
	_, stopGTwo := startHandler(t, "127.0.0.2:"+gport, "g-two", func(w http.ResponseWriter, r *http.Request) {})
	manifests := []string{
		service("default", "app", one, "127.0.0.2:"+port),
		service("default", "fragile", fOne, "127.0.0.2:"+fport),
		service("default", "fragile2", gOne, "127.0.0.2:"+gport),
		trafficIngress("balanced", "balanced.example", map[string]string{"affinity": "cookie"}, "/", "app"),
		trafficIngress("persistent", "persistent.example", map[string]string{"affinity": "cookie", "affinity-mode": "persistent",
			"session-cookie-name": "route", "session-cookie-path": "/shop", "session-cookie-max-age": "3600",
			"session-cookie-expires": "7200", "session-cookie-samesite": "Strict", "session-cookie-domain": "persistent.example",
			"session-cookie-partitioned": "true"}, "/", "app"),
		trafficIngress("secure", "secure.example", map[string]string{"affinity": "cookie", "session-cookie-secure": "true",
			"session-cookie-samesite": "None", "session-cookie-conditional-samesite-none": "true"}, "/app", "app"),
		trafficIngress("plain", "plain.example", nil, "/", "app"),
		trafficIngress("change", "change.example", map[string]string{"affinity": "cookie", "affinity-mode": "persistent",
			"session-cookie-change-on-failure": "true"}, "/", "fragile"),
		trafficIngress("stay", "stay.example", map[string]string{"affinity": "cookie", "affinity-mode": "persistent"}, "/", "fragile2"),
	}
	writeFile(t, dir, "affinity.yaml", join(manifests...))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)

	for _, host := range []string{"balanced.example", "persistent.example"} {
		name := "INGRESSCOOKIE"
		if host == "persistent.example" {
			name = "route"
		}
		first := get(t, c, "http://"+host+"/shop/cart")
		sc := setCookie(first, name)
		if sc == "" {
			t.Fatalf("%s: no %s cookie in %v", host, name, first.header)
		}
		if strings.Contains(sc, "127.0.0") || strings.Contains(sc, port) {
			t.Errorf("%s: cookie shows the endpoint: %s", host, sc)
		}
		if !strings.Contains(sc, "HttpOnly") || strings.Contains(sc, "Secure") {
			t.Errorf("%s: cookie attributes over plain HTTP: %s", host, sc)
		}
		for i := 0; i < 20; i++ {
			r := send(t, c, "GET", "http://"+host+"/shop/cart", map[string]string{"Cookie": cookiePair(sc)}, nil)
			if r.backendName() != first.backendName() {
				t.Fatalf("%s: request %d with the cookie went to %s, first to %s", host, i, r.backendName(), first.backendName())
			}
			if setCookie(r, name) != "" {
				t.Fatalf("%s: the cookie was set again", host)
			}
		}
	}
	// Both endpoints get sessions.
	seen := count(t, 20, func() result { return get(t, c, "http://balanced.example/") })
	if seen["one"] == 0 || seen["two"] == 0 {
		t.Errorf("new sessions all on one endpoint: %v", seen)
	}
	// Attributes.
	sc := setCookie(get(t, c, "http://persistent.example/shop"), "route")
	for _, want := range []string{"Path=/shop", "Max-Age=3600", "Expires=", "SameSite=Strict", "Domain=persistent.example", "HttpOnly", "Partitioned"} {
		if !strings.Contains(sc, want) {
			t.Errorf("persistent cookie %q lacks %s", sc, want)
		}
	}
	modern := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
	old := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/55.0 Safari/537.36"
	sc = setCookie(send(t, c, "GET", "http://secure.example/app/x", map[string]string{"User-Agent": modern}, nil), "INGRESSCOOKIE")
	if !strings.Contains(sc, "Secure") || !strings.Contains(sc, "SameSite=None") || !strings.Contains(sc, "Path=/app") {
		t.Errorf("secure cookie: %q", sc)
	}
	sc = setCookie(send(t, c, "GET", "http://secure.example/app/x", map[string]string{"User-Agent": old}, nil), "INGRESSCOOKIE")
	if strings.Contains(sc, "SameSite") {
		t.Errorf("SameSite=None sent to an incompatible user agent: %q", sc)
	}
	// HTTPS requests get Secure without the annotation.
	if sc := setCookie(get(t, c, "https://balanced.example/"), "INGRESSCOOKIE"); !strings.Contains(sc, "Secure") {
		t.Errorf("cookie over HTTPS without Secure: %q", sc)
	}
	// Routes without affinity set no cookie.
	if r := get(t, c, "http://plain.example/"); len(r.header.Values("Set-Cookie")) != 0 {
		t.Errorf("cookie on a route without affinity: %v", r.header.Values("Set-Cookie"))
	}

	// Sessions survive a config swap.
	first := get(t, c, "http://persistent.example/shop")
	pair := cookiePair(setCookie(first, "route"))
	writeFile(t, dir, "affinity.yaml", join(append(manifests, trafficIngress("extra", "extra.example", nil, "/", "app"))...))
	eventually(t, 5*time.Second, "the new Ingress", func() bool { return get(t, c, "http://extra.example/").status == 200 })
	for i := 0; i < 10; i++ {
		if r := send(t, c, "GET", "http://persistent.example/shop", map[string]string{"Cookie": pair}, nil); r.backendName() != first.backendName() {
			t.Fatalf("after the swap the session moved from %s to %s", first.backendName(), r.backendName())
		}
	}

	// change-on-failure: a session on a dead endpoint moves and gets a
	// new cookie; without it the request fails (nginx retries the
	// cookie's endpoint).
	var onTwo, stayOnTwo string
	for i := 0; i < 20 && (onTwo == "" || stayOnTwo == ""); i++ {
		if r := get(t, c, "http://change.example/"); r.backendName() == "f-two" {
			onTwo = cookiePair(setCookie(r, "INGRESSCOOKIE"))
		}
		if r := get(t, c, "http://stay.example/"); r.backendName() == "g-two" {
			stayOnTwo = cookiePair(setCookie(r, "INGRESSCOOKIE"))
		}
	}
	if onTwo == "" || stayOnTwo == "" {
		t.Fatal("no session landed on the second endpoints")
	}
	stopTwo()
	stopGTwo()
	r := send(t, c, "GET", "http://change.example/", map[string]string{"Cookie": onTwo}, nil)
	if r.status != 200 || r.backendName() != "f-one" || setCookie(r, "INGRESSCOOKIE") == "" {
		t.Errorf("change-on-failure: %d from %q, cookie %q", r.status, r.backendName(), setCookie(r, "INGRESSCOOKIE"))
	}
	if r := send(t, c, "GET", "http://stay.example/", map[string]string{"Cookie": stayOnTwo}, nil); r.status != 502 {
		t.Errorf("without change-on-failure: %d from %q, want 502", r.status, r.backendName())
	}
}

// TestBalancing: upstream-hash-by keeps a key on one endpoint and spreads
// keys; ewma prefers the faster endpoint; service-upstream sends to the
// cluster IP; upstream-vhost sets the Host the upstream sees.
func TestBalancing(t *testing.T) {
	dir := t.TempDir()
	one := startEcho(t, "127.0.0.1:0", "one")
	_, port, _ := net.SplitHostPort(one)
	startEcho(t, "127.0.0.2:"+port, "two")
	startEcho(t, "127.0.0.3:"+port, "three")
	fast, _ := startHandler(t, "127.0.0.1:0", "fast", func(w http.ResponseWriter, r *http.Request) {})
	_, sport, _ := net.SplitHostPort(fast)
	startHandler(t, "127.0.0.2:"+sport, "slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(30 * time.Millisecond) })
	// service-upstream: the Service's port is 80, so the cluster IP gets
	// a listener on port 80 only if we may bind it; use a Service whose
	// port equals the echo port instead.
	viaEP := startEcho(t, "127.0.0.1:0", "via-endpoints")
	_, vport, _ := net.SplitHostPort(viaEP)
	startEcho(t, "127.0.0.4:"+vport, "via-cluster-ip")
	svcUp := fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: svcup, namespace: default}
spec:
  clusterIP: 127.0.0.4
  ports: [{name: http, port: %[1]s, targetPort: %[1]s}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svcup-1, namespace: default, labels: {kubernetes.io/service-name: svcup}}
addressType: IPv4
ports: [{name: http, port: %[1]s}]
endpoints:
- addresses: ["127.0.0.1"]
  conditions: {ready: true}
`, vport)
	svcIngress := func(name, host string, ann map[string]string) string {
		return strings.Replace(trafficIngress(name, host, ann, "/", "svcup"), "number: 80", "number: "+vport, 1)
	}
	writeFile(t, dir, "balance.yaml", join(
		service("default", "app", one, "127.0.0.2:"+port, "127.0.0.3:"+port),
		service("default", "timed", fast, "127.0.0.2:"+sport),
		svcUp,
		trafficIngress("uri", "uri.example", map[string]string{"upstream-hash-by": "$request_uri"}, "/", "app"),
		trafficIngress("user", "user.example", map[string]string{"upstream-hash-by": "$http_x_user"}, "/", "app"),
		trafficIngress("subset", "subset.example", map[string]string{"upstream-hash-by": "$arg_id", "upstream-hash-by-subset": "true", "upstream-hash-by-subset-size": "2"}, "/", "app"),
		trafficIngress("ewma", "ewma.example", map[string]string{"load-balance": "ewma"}, "/", "timed"),
		trafficIngress("vhost", "vhost.example", map[string]string{"upstream-vhost": "internal.svc.local"}, "/", "app"),
		svcIngress("svcup", "svcup.example", map[string]string{"service-upstream": "true"}),
		svcIngress("eps", "eps.example", nil),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)

	owners := map[string]bool{}
	for k := 0; k < 12; k++ {
		url := fmt.Sprintf("http://uri.example/item/%d?x=1", k)
		want := get(t, c, url).backendName()
		owners[want] = true
		for i := 0; i < 5; i++ {
			if got := get(t, c, url).backendName(); got != want {
				t.Fatalf("%s went to %s, then %s", url, want, got)
			}
		}
	}
	if len(owners) < 2 {
		t.Errorf("12 URIs all hashed to %v", owners)
	}
	for _, user := range []string{"alice", "bob", "carol"} {
		want := send(t, c, "GET", "http://user.example/", map[string]string{"X-User": user}, nil).backendName()
		for i := 0; i < 5; i++ {
			if got := send(t, c, "GET", "http://user.example/other", map[string]string{"X-User": user}, nil).backendName(); got != want {
				t.Fatalf("user %s went to %s, then %s", user, want, got)
			}
		}
	}
	// A subset of 2 of the 3 endpoints per key.
	sub := count(t, 60, func() result { return get(t, c, "http://subset.example/?id=42") })
	if len(sub) != 2 {
		t.Errorf("one key over %d endpoints with subsets of 2: %v", len(sub), sub)
	}

	// ewma: after a warm-up the fast endpoint takes most requests.
	count(t, 10, func() result { return get(t, c, "http://ewma.example/") })
	seen := count(t, 40, func() result { return get(t, c, "http://ewma.example/") })
	if seen["fast"] < 30 {
		t.Errorf("ewma sent %v; want most to the fast endpoint", seen)
	}

	r := get(t, c, "http://vhost.example/")
	if r.echo.Host != "internal.svc.local" || first(r.echo.Headers["X-Forwarded-Host"]) != "vhost.example" {
		t.Errorf("upstream-vhost: Host %q, X-Forwarded-Host %q", r.echo.Host, first(r.echo.Headers["X-Forwarded-Host"]))
	}
	if r := get(t, c, "http://svcup.example/"); r.backendName() != "via-cluster-ip" {
		t.Errorf("service-upstream reached %q (%d)", r.backendName(), r.status)
	}
	if r := get(t, c, "http://eps.example/"); r.backendName() != "via-endpoints" {
		t.Errorf("without service-upstream reached %q (%d)", r.backendName(), r.status)
	}
}

// TestBodySize: the default 1m limit applies to every route (413 before
// the upstream is contacted), an annotation raises, lowers or removes it,
// and a chunked body over the limit is refused too.
func TestBodySize(t *testing.T) {
	dir := t.TempDir()
	var hits atomic.Int64
	up, _ := startHandler(t, "127.0.0.1:0", "sink", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("X-Content-Length", fmt.Sprint(r.ContentLength))
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d", n)
	})
	writeFile(t, dir, "body.yaml", join(
		service("default", "sink", up),
		trafficIngress("default-limit", "default.example", nil, "/", "sink"),
		trafficIngress("small", "small.example", map[string]string{"proxy-body-size": "8k"}, "/", "sink"),
		trafficIngress("big", "big.example", map[string]string{"proxy-body-size": "4m"}, "/", "sink"),
		trafficIngress("unlimited", "unlimited.example", map[string]string{"proxy-body-size": "0"}, "/", "sink"),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	post := func(url string, n int, chunked bool) result {
		var body io.Reader = strings.NewReader(strings.Repeat("x", n))
		if chunked {
			body = io.MultiReader(body) // hides the length: Transfer-Encoding: chunked
		}
		r, err := sendErr(c, "POST", url, nil, body)
		if err != nil && r.status == 0 {
			t.Fatalf("POST %s (%d bytes): %v", url, n, err)
		}
		return r
	}
	for _, tc := range []struct {
		url     string
		n       int
		chunked bool
		status  int
	}{
		{"http://default.example/", 1 << 20, false, 200},
		{"http://default.example/", 1<<20 + 1, false, 413},
		{"http://default.example/", 2 << 20, true, 413},
		{"http://small.example/", 8 << 10, false, 200},
		{"http://small.example/", 9 << 10, false, 413},
		{"http://small.example/", 64 << 10, true, 413},
		{"http://big.example/", 3 << 20, false, 200},
		{"http://unlimited.example/", 6 << 20, true, 200},
	} {
		before := hits.Load()
		r := post(tc.url, tc.n, tc.chunked)
		if r.status != tc.status {
			t.Errorf("POST %s with %d bytes (chunked %v): %d, want %d", tc.url, tc.n, tc.chunked, r.status, tc.status)
		}
		if tc.status == 200 && string(r.body) != fmt.Sprint(tc.n) {
			t.Errorf("POST %s: upstream read %s bytes, want %d", tc.url, r.body, tc.n)
		}
		// proxy-request-buffering on reads a chunked body whole too, so
		// it is refused before the upstream is contacted.
		if tc.status == 413 && hits.Load() != before {
			t.Errorf("POST %s over the limit reached the upstream", tc.url)
		}
	}
	// proxy-request-buffering on: a chunked body reaches the upstream
	// with a Content-Length, whether it fits in client-body-buffer-size
	// (8k) or goes on to a temporary file.
	if r := post("http://default.example/", 4<<10, true); r.header.Get("X-Content-Length") != "4096" {
		t.Errorf("small chunked body: upstream saw Content-Length %q", r.header.Get("X-Content-Length"))
	}
	if r := post("http://default.example/", 20<<10, true); r.status != 200 || r.header.Get("X-Content-Length") != "20480" || string(r.body) != "20480" {
		t.Errorf("large chunked body: %d, Content-Length %q, %s bytes", r.status, r.header.Get("X-Content-Length"), r.body)
	}
}

// TestRateLimits: limit-rps with its burst answers 503 past the burst per
// client, limit-allowlist exempts clients, limit-rpm counts per minute,
// limit-connections bounds requests in flight, and the counters survive
// a config swap.
func TestRateLimits(t *testing.T) {
	dir := t.TempDir()
	up := startEcho(t, "127.0.0.1:0", "app")
	release := make(chan struct{})
	var inFlight atomic.Int64
	blocking, _ := startHandler(t, "127.0.0.1:0", "blocking", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			inFlight.Add(1)
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
	})
	manifests := []string{
		service("default", "app", up),
		service("default", "blocking", blocking),
		trafficIngress("rps", "rps.example", map[string]string{"limit-rps": "1", "limit-burst-multiplier": "2"}, "/", "app", "/other", "app"),
		trafficIngress("allowed", "allowed.example", map[string]string{"limit-rps": "1", "limit-burst-multiplier": "1", "limit-allowlist": "10.0.0.0/8, 127.0.0.1"}, "/", "app"),
		trafficIngress("rpm", "rpm.example", map[string]string{"limit-rpm": "2", "limit-burst-multiplier": "1"}, "/", "app"),
		trafficIngress("whitelisted", "whitelisted.example", map[string]string{"limit-rps": "1", "limit-burst-multiplier": "1", "limit-whitelist": "127.0.0.0/8"}, "/", "app"),
		trafficIngress("other-client", "other.example", map[string]string{"limit-rps": "1", "limit-burst-multiplier": "1", "limit-allowlist": "10.0.0.0/8"}, "/", "app"),
		trafficIngress("conn", "conn.example", map[string]string{"limit-connections": "1"}, "/", "blocking"),
	}
	writeFile(t, dir, "limits.yaml", join(manifests...))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	statuses := func(url string, n int) []int {
		var out []int
		for i := 0; i < n; i++ {
			out = append(out, get(t, c, url).status)
		}
		return out
	}
	// rps 1 × multiplier 2: the first request plus a burst of 2 pass at
	// once, then 503 (nginx limit_req burst=2 nodelay). The Ingress's
	// paths share the zone.
	got := statuses("http://rps.example/", 3)
	got = append(got, statuses("http://rps.example/other", 2)...)
	if fmt.Sprint(got) != "[200 200 200 503 503]" {
		t.Errorf("limit-rps: %v", got)
	}
	if got := statuses("http://allowed.example/", 6); fmt.Sprint(got) != "[200 200 200 200 200 200]" {
		t.Errorf("allowlisted client limited: %v", got)
	}
	if got := statuses("http://whitelisted.example/", 6); fmt.Sprint(got) != "[200 200 200 200 200 200]" {
		t.Errorf("limit-whitelist (the older name) client limited: %v", got)
	}
	if got := statuses("http://other.example/", 3); fmt.Sprint(got) != "[200 200 503]" {
		t.Errorf("a client outside limit-allowlist: %v", got)
	}
	// limit-rpm 2 × 1: the first plus a burst of 2, then 503.
	if got := statuses("http://rpm.example/", 4); fmt.Sprint(got) != "[200 200 200 503]" {
		t.Errorf("limit-rpm: %v", got)
	}
	// The rps zone keeps its state over a config swap.
	writeFile(t, dir, "limits.yaml", join(append(manifests, trafficIngress("extra", "extra.example", nil, "/", "app"))...))
	eventually(t, 5*time.Second, "the new Ingress", func() bool { return get(t, c, "http://extra.example/").status == 200 })
	if got := statuses("http://rpm.example/", 1); got[0] != 503 {
		t.Errorf("limit-rpm forgot the client after a config swap: %v", got)
	}
	// After a second the rps bucket has room for one more.
	time.Sleep(1100 * time.Millisecond)
	if got := statuses("http://rps.example/", 2); fmt.Sprint(got) != "[200 503]" {
		t.Errorf("limit-rps after 1.1 s: %v", got)
	}

	// limit-connections 1: a second request while one is in flight gets 503.
	done := make(chan result, 1)
	go func() {
		r, _ := sendErr(c, "GET", "http://conn.example/hold", nil, nil)
		done <- r
	}()
	eventually(t, 5*time.Second, "the held request to reach the backend", func() bool { return inFlight.Load() == 1 })
	if r := get(t, c, "http://conn.example/quick"); r.status != 503 {
		t.Errorf("second concurrent request: %d, want 503", r.status)
	}
	close(release)
	if r := <-done; r.status != 200 {
		t.Errorf("held request: %d", r.status)
	}
	if r := get(t, c, "http://conn.example/quick"); r.status != 200 {
		t.Errorf("after the first finished: %d", r.status)
	}
}

// blackhole returns an address whose connects hang: a loopback listener
// with a one-connection backlog, filled and never accepted, so the kernel
// drops further SYNs.
func blackhole(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	sa := &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		t.Fatalf("bind: %v", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		syscall.Close(fd)
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	got, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", got.(*syscall.SockaddrInet4).Port)
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := 0; i < 64; i++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			return addr
		}
		conns = append(conns, c)
	}
	t.Fatal("could not fill the accept queue of a loopback listener, so no connect can be made to hang")
	return ""
}

// TestTimeoutsAndRetries: proxy-read-timeout (504 before the header, a
// cut body after it), proxy-connect-timeout, and proxy-next-upstream with
// its conditions, tries, and the idempotency rule.
func TestTimeoutsAndRetries(t *testing.T) {
	dir := t.TempDir()
	slow, _ := startHandler(t, "127.0.0.1:0", "slow", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stall-body" {
			w.Header().Set("Content-Length", "10")
			w.Write([]byte("12345"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-r.Context().Done():
		}
	})
	good, _ := startHandler(t, "127.0.0.1:0", "good", func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	_, gport, _ := net.SplitHostPort(good)
	// 503 from one endpoint, 200 from the other, on the same port.
	var badHits atomic.Int64
	startHandler(t, "127.0.0.2:"+gport, "bad", func(w http.ResponseWriter, r *http.Request) {
		badHits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(503)
	})
	dead := deadAddr(t, "127.0.0.3")
	_, dport, _ := net.SplitHostPort(dead)
	alive, _ := startHandler(t, "127.0.0.1:"+dport, "alive", func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	hole := blackhole(t)
	_, hport, _ := net.SplitHostPort(hole)
	// An upstream that accepts and never reads: writes to it block once
	// the socket buffers are full.
	deaf, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deaf.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := deaf.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	holeAlive, _ := startHandler(t, "127.0.0.5:"+hport, "hole-alive", func(w http.ResponseWriter, r *http.Request) {})
	writeFile(t, dir, "timeouts.yaml", join(
		service("default", "slow", slow),
		service("default", "mixed", good, "127.0.0.2:"+gport),
		service("default", "halfdead", alive, dead),
		service("default", "halfdead2", alive, dead),
		service("default", "halfdead3", alive, dead),
		service("default", "hole", hole),
		service("default", "holepair", hole, holeAlive),
		service("default", "holepair2", hole, holeAlive),
		service("default", "deaf", deaf.Addr().String()),
		trafficIngress("read", "read.example", map[string]string{"proxy-read-timeout": "1"}, "/", "slow"),
		trafficIngress("default-read", "default-read.example", nil, "/", "slow"),
		trafficIngress("connect", "connect.example", map[string]string{"proxy-connect-timeout": "1"}, "/", "hole"),
		trafficIngress("connect-retry", "connect-retry.example", map[string]string{"proxy-connect-timeout": "1"}, "/", "holepair"),
		trafficIngress("budget", "budget.example", map[string]string{"proxy-connect-timeout": "1", "proxy-next-upstream-timeout": "1"}, "/", "holepair2"),
		trafficIngress("send", "send.example", map[string]string{"proxy-send-timeout": "1", "proxy-body-size": "0"}, "/", "deaf"),
		trafficIngress("default-retry", "retry.example", nil, "/", "halfdead"),
		trafficIngress("no-retry", "noretry.example", map[string]string{"proxy-next-upstream": "off"}, "/", "halfdead2"),
		trafficIngress("one-try", "onetry.example", map[string]string{"proxy-next-upstream-tries": "1"}, "/", "halfdead3"),
		trafficIngress("status", "status.example", map[string]string{"proxy-next-upstream": "error timeout http_503"}, "/", "mixed"),
		trafficIngress("status-post", "status-post.example", map[string]string{"proxy-next-upstream": "error timeout http_503 non_idempotent"}, "/", "mixed"),
		trafficIngress("plain", "plain.example", nil, "/", "mixed"),
		trafficIngress("unbuffered", "unbuffered.example", map[string]string{"proxy-next-upstream": "error timeout http_503", "proxy-request-buffering": "off"}, "/", "mixed"),
		trafficIngress("bigbuffer", "bigbuffer.example", map[string]string{"proxy-next-upstream": "error timeout http_503", "client-body-buffer-size": "32k"}, "/", "mixed"),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)

	start := time.Now()
	if r := get(t, c, "http://read.example/"); r.status != 504 {
		t.Errorf("read timeout: %d, want 504", r.status)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 2300*time.Millisecond {
		t.Errorf("read timeout after %v, want about 1s", d)
	}
	// After the header, a silent upstream cuts the response.
	start = time.Now()
	if _, err := sendErr(c, "GET", "http://read.example/stall-body", nil, nil); err == nil {
		t.Errorf("a body stalled past proxy-read-timeout was not cut")
	}
	if d := time.Since(start); d > 2300*time.Millisecond {
		t.Errorf("stalled body cut after %v", d)
	}
	if r := get(t, c, "http://default-read.example/"); r.status != 200 {
		t.Errorf("1.5 s answer within the default 60 s: %d", r.status)
	}

	start = time.Now()
	if r := get(t, c, "http://connect.example/"); r.status != 504 {
		t.Errorf("connect timeout: %d, want 504", r.status)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("connect timeout after %v, want about 1s", d)
	}
	// A connect timeout moves on to the next endpoint (timeout is in the
	// default proxy-next-upstream).
	for i := 0; i < 4; i++ {
		if r := get(t, c, "http://connect-retry.example/"); r.status != 200 || r.backendName() != "hole-alive" {
			t.Errorf("connect timeout retry: %d from %q", r.status, r.backendName())
		}
	}

	// proxy-next-upstream-timeout: after a 1 s connect timeout the 1 s
	// budget for retries is spent.
	if r := get(t, c, "http://budget.example/"); r.status != 504 {
		t.Errorf("retry budget spent: %d from %q, want 504", r.status, r.backendName())
	}
	// proxy-send-timeout: an upstream that stops reading a streamed body.
	start = time.Now()
	big := io.MultiReader(strings.NewReader(strings.Repeat("s", 24<<20)))
	if r, err := sendErr(c, "POST", "http://send.example/", nil, big); err == nil && r.status != 504 {
		t.Errorf("send timeout: %d, want 504", r.status)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("send timeout after %v, want about 1s (plus the upload until buffers fill)", d)
	}

	// A dead endpoint: the default "error timeout" retries every request,
	// even a POST (nothing reached the upstream).
	for i := 0; i < 6; i++ {
		if r := get(t, c, "http://retry.example/"); r.status != 200 {
			t.Fatalf("GET with the default retries: %d", r.status)
		}
		if r := send(t, c, "POST", "http://retry.example/", nil, strings.NewReader("data")); r.status != 200 {
			t.Fatalf("POST with the default retries: %d", r.status)
		}
	}
	// Without retries the dead endpoint's first request fails (then
	// passive health skips it for a while).
	for _, host := range []string{"noretry.example", "onetry.example"} {
		if seen := count(t, 6, func() result { return get(t, c, "http://"+host+"/") }); seen["502"] != 1 {
			t.Errorf("%s: no 502 without retries: %v", host, seen)
		}
	}
	// http_503: GETs always end on the good endpoint; POSTs are not sent
	// again unless non_idempotent; without http_503 the 503 comes back.
	if seen := count(t, 6, func() result { return get(t, c, "http://status.example/") }); seen["good"] != 6 {
		t.Errorf("http_503 retries: %v", seen)
	}
	posts := count(t, 6, func() result { return send(t, c, "POST", "http://status.example/", nil, nil) })
	if posts["503"] == 0 {
		t.Errorf("POST was retried after reaching the upstream: %v", posts)
	}
	if seen := count(t, 6, func() result { return send(t, c, "POST", "http://status-post.example/", nil, nil) }); seen["good"] != 6 {
		t.Errorf("non_idempotent POST retries: %v", seen)
	}
	if seen := count(t, 6, func() result { return get(t, c, "http://plain.example/") }); seen["503"] == 0 {
		t.Errorf("503 retried without http_503: %v", seen)
	}
	// PUT is idempotent: its body, read whole (proxy-request-buffering
	// on: in memory up to client-body-buffer-size, 8k by default, the rest
	// in a temporary file), is sent again; an unbuffered one was streamed
	// and is not.
	put := func(host string, n int) map[string]int {
		return count(t, 6, func() result {
			return send(t, c, "PUT", "http://"+host+"/", nil, strings.NewReader(strings.Repeat("p", n)))
		})
	}
	if seen := put("status.example", 4<<10); seen["good"] != 6 {
		t.Errorf("buffered PUT retries: %v", seen)
	}
	if seen := put("status.example", 20<<10); seen["good"] != 6 {
		t.Errorf("a 20 KiB PUT buffered to a temporary file was not sent again: %v", seen)
	}
	if seen := put("bigbuffer.example", 20<<10); seen["good"] != 6 {
		t.Errorf("20 KiB PUT with client-body-buffer-size 32k: %v", seen)
	}
	if seen := put("unbuffered.example", 1<<10); seen["503"] == 0 {
		t.Errorf("PUT with proxy-request-buffering off was sent again: %v", seen)
	}
}

// TestBuffering: proxy-buffering off (the default) streams each upstream
// write; on holds them; X-Accel-Buffering from the upstream overrides
// either way and is not passed on. limit-rate paces the response.
func TestBuffering(t *testing.T) {
	dir := t.TempDir()
	clientGot, streamed := make(chan struct{}, 1), make(chan bool, 1)
	stream, _ := startHandler(t, "127.0.0.1:0", "stream", func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("accel"); v != "" {
			w.Header().Set("X-Accel-Buffering", v)
		}
		if r.URL.Path == "/big" {
			w.Write([]byte(strings.Repeat("y", 60<<10)))
			return
		}
		// The first line, then a wait until the client has read it (or
		// 2 s): whether the client got it before the upstream finished is
		// what buffering changes, with no timing to assert.
		fmt.Fprintf(w, "line 0\n")
		w.(http.Flusher).Flush()
		select {
		case <-clientGot:
			streamed <- true
		case <-time.After(2 * time.Second):
			streamed <- false
		}
		fmt.Fprintf(w, "line 1\nline 2\n")
	})
	writeFile(t, dir, "buffering.yaml", join(
		service("default", "stream", stream),
		trafficIngress("off", "off.example", nil, "/", "stream"),
		trafficIngress("on", "on.example", map[string]string{"proxy-buffering": "on"}, "/", "stream"),
		trafficIngress("rate", "rate.example", map[string]string{"limit-rate": "40", "limit-rate-after": "20"}, "/", "stream"),
		trafficIngress("tuned", "tuned.example", map[string]string{"proxy-buffer-size": "128k", "proxy-buffers-number": "8", "proxy-max-temp-file-size": "0"}, "/", "stream"),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	// streams reports whether the client read the first line while the
	// upstream was still waiting for it.
	streams := func(url string) (bool, http.Header) {
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := make([]byte, 1)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			t.Fatal(err)
		}
		clientGot <- struct{}{}
		rest, _ := io.ReadAll(resp.Body)
		if got := string(b) + string(rest); got != "line 0\nline 1\nline 2\n" {
			t.Errorf("%s: body %q", url, got)
		}
		ok := <-streamed
		select { // a buffered response leaves the signal unread
		case <-clientGot:
		default:
		}
		return ok, resp.Header
	}
	if s, _ := streams("http://off.example/"); !s {
		t.Error("proxy-buffering off: the first line waited for the whole response")
	}
	if s, _ := streams("http://on.example/"); s {
		t.Error("proxy-buffering on: the first line reached the client before the upstream finished")
	}
	if s, h := streams("http://on.example/?accel=no"); !s || h.Get("X-Accel-Buffering") != "" {
		t.Errorf("X-Accel-Buffering: no: streamed %v, header %q", s, h.Get("X-Accel-Buffering"))
	}
	if s, _ := streams("http://off.example/?accel=yes"); s {
		t.Error("X-Accel-Buffering: yes: the first line reached the client before the upstream finished")
	}
	// nginx's buffer sizes are accepted and change nothing for a client:
	// a response header larger than nginx's default 4k passes.
	if r := get(t, c, "http://tuned.example/big"); r.status != 200 || len(r.body) != 60<<10 {
		t.Errorf("tuned buffers: %d, %d bytes", r.status, len(r.body))
	}
	if d := m.diagnostics(t); strings.Contains(d, "tuned") {
		t.Errorf("diagnostics for valid buffer annotations:\n%s", d)
	}
	// 60 KiB at 40 KiB/s after the first 20 KiB: about a second.
	start := time.Now()
	r := get(t, c, "http://rate.example/big")
	if d := time.Since(start); r.status != 200 || len(r.body) != 60<<10 || d < 800*time.Millisecond || d > 3*time.Second {
		t.Errorf("limit-rate: %d, %d bytes in %v; want 60 KiB in about 1 s", r.status, len(r.body), d)
	}
}

// TestTrafficConfigMap: the controller ConfigMap's proxy-body-size,
// proxy-read-timeout and limit-req-status-code apply to every route; an
// annotation still wins for its Ingress.
func TestTrafficConfigMap(t *testing.T) {
	dir := t.TempDir()
	up, _ := startHandler(t, "127.0.0.1:0", "sink", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/slow" {
			time.Sleep(1500 * time.Millisecond)
		}
	})
	writeFile(t, dir, "cm.yaml", join(`apiVersion: v1
kind: ConfigMap
metadata: {name: moat, namespace: ingress}
data:
  proxy-body-size: 16k
  proxy-read-timeout: "1"
  limit-req-status-code: "429"
  use-forwarded-headers: "true"
  proxy-real-ip-cidr: 127.0.0.1/32`,
		service("default", "sink", up),
		trafficIngress("plain", "plain.example", nil, "/", "sink"),
		trafficIngress("own", "own.example", map[string]string{"proxy-body-size": "1m", "proxy-read-timeout": "5", "limit-rps": "1", "limit-burst-multiplier": "1"}, "/", "sink"),
		trafficIngress("xff", "xff.example", map[string]string{"limit-rps": "1", "limit-burst-multiplier": "0"}, "/", "sink"),
	))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.ConfigMap = "ingress/moat" })
	c := m.client(nil, false)
	body := func(n int) io.Reader { return strings.NewReader(strings.Repeat("z", n)) }
	if r := send(t, c, "POST", "http://plain.example/", nil, body(20<<10)); r.status != 413 {
		t.Errorf("20 KiB over the ConfigMap's 16k: %d", r.status)
	}
	if r := send(t, c, "POST", "http://own.example/", nil, body(20<<10)); r.status != 200 {
		t.Errorf("20 KiB with the annotation's 1m: %d", r.status)
	}
	if r := get(t, c, "http://plain.example/slow"); r.status != 504 {
		t.Errorf("1.5 s answer with the ConfigMap's read timeout of 1 s: %d", r.status)
	}
	if r := get(t, c, "http://own.example/slow"); r.status != 200 {
		t.Errorf("1.5 s answer with the annotation's 5 s: %d", r.status)
	}
	// Burst 1: two pass at once, the third is refused.
	codes := []int{get(t, c, "http://own.example/").status, get(t, c, "http://own.example/").status, get(t, c, "http://own.example/").status}
	if codes[2] != 429 {
		t.Errorf("over limit-rps with limit-req-status-code 429: %v", codes)
	}
	// With forwarded headers trusted from 127.0.0.1, limits count per
	// X-Forwarded-For client, as nginx's realip module makes them.
	xff := func(ip string) int {
		return send(t, c, "GET", "http://xff.example/", map[string]string{"X-Forwarded-For": ip}, nil).status
	}
	if got := []int{xff("192.0.2.1"), xff("192.0.2.1"), xff("192.0.2.2")}; fmt.Sprint(got) != "[200 429 200]" {
		t.Errorf("limits per forwarded client: %v", got)
	}
}

// TestCanaryAffinity: with affinity on both, a client whose cookie names
// the main or the canary backend stays there whatever the weight
// (affinity-canary-behavior sticky, the default); legacy ignores it.
func TestCanaryAffinity(t *testing.T) {
	dir := t.TempDir()
	stable := startEcho(t, "127.0.0.1:0", "stable")
	beta := startEcho(t, "127.0.0.1:0", "beta")
	canary := func(name, host string, extra map[string]string) string {
		ann := map[string]string{"canary": "true", "canary-weight": "50", "affinity": "cookie"}
		for k, v := range extra {
			ann[k] = v
		}
		return trafficIngress(name, host, ann, "/", "beta")
	}
	writeFile(t, dir, "ca.yaml", join(
		service("default", "stable", stable),
		service("default", "beta", beta),
		trafficIngress("main", "sticky.example", map[string]string{"affinity": "cookie"}, "/", "stable"),
		canary("c", "sticky.example", nil),
		trafficIngress("main-l", "legacy.example", map[string]string{"affinity": "cookie"}, "/", "stable"),
		canary("c-l", "legacy.example", map[string]string{"affinity-canary-behavior": "legacy"}),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)
	sessions := map[string]string{}
	for i := 0; i < 40 && len(sessions) < 2; i++ {
		r := get(t, c, "http://sticky.example/")
		if sc := setCookie(r, "INGRESSCOOKIE"); sc != "" {
			sessions[r.backendName()] = cookiePair(sc)
		}
	}
	if len(sessions) != 2 {
		t.Fatalf("sessions: %v", sessions)
	}
	for backend, pair := range sessions {
		for i := 0; i < 20; i++ {
			if r := send(t, c, "GET", "http://sticky.example/", map[string]string{"Cookie": pair}, nil); r.backendName() != backend {
				t.Fatalf("a %s session went to %s", backend, r.backendName())
			}
		}
	}
	var pair string
	for i := 0; i < 40 && pair == ""; i++ {
		if r := get(t, c, "http://legacy.example/"); r.backendName() == "stable" {
			pair = cookiePair(setCookie(r, "INGRESSCOOKIE"))
		}
	}
	seen := count(t, 60, func() result {
		return send(t, c, "GET", "http://legacy.example/", map[string]string{"Cookie": pair}, nil)
	})
	if seen["beta"] == 0 {
		t.Errorf("legacy: a main session never went to the canary: %v", seen)
	}
}
