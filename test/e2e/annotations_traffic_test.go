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
	"testing"
	"time"

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
	fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: %s\n  namespace: default\n", name)
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
			"session-cookie-expires": "7200", "session-cookie-samesite": "Strict", "session-cookie-domain": "persistent.example"}, "/", "app"),
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
	for _, want := range []string{"Path=/shop", "Max-Age=3600", "Expires=", "SameSite=Strict", "Domain=persistent.example", "HttpOnly"} {
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
