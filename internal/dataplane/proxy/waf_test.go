package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/accesslog"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/waf"
)

func wafEngine(t testing.TB, rules string) *waf.Engine {
	t.Helper()
	e, err := waf.NewCache().Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// wafFixture serves "/" of foo.com through rules, to a backend that
// records the body it received.
func wafFixture(t *testing.T, rules string, upHeader string) (*fixture, func() []byte) {
	var mu sync.Mutex
	var got []byte
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = b
		mu.Unlock()
		if upHeader != "" {
			w.Header().Set("X-Leak", upHeader)
		}
		io.WriteString(w, "from upstream")
	}))
	t.Cleanup(up.Close)
	rt := prefix("/", "a")
	rt.Policy = &routecfg.RoutePolicy{WAF: &routecfg.WAF{Engine: wafEngine(t, rules)}}
	f := newFixture(t, config([]*routecfg.Pool{pool("a", addr(up))}, &routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{rt}}), false)
	return f, func() []byte { mu.Lock(); defer mu.Unlock(); return got }
}

func post(t *testing.T, f *fixture, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/", strings.NewReader(body))
	req.Host = "foo.com"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestWAFResponseHeaders: a phase 3 rule replaces the upstream's answer.
func TestWAFResponseHeaders(t *testing.T) {
	f, _ := wafFixture(t, "SecRuleEngine On\nSecRule RESPONSE_HEADERS:X-Leak \"@streq yes\" \"id:3,phase:3,deny,status:403\"", "yes")
	resp, body := f.get(t, "foo.com", "/")
	if resp.StatusCode != 403 || bytes.Contains(body, []byte("from upstream")) || resp.Header.Get("X-Leak") != "" {
		t.Errorf("phase 3 deny: %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

// TestWAFBodyLimit: over SecRequestBodyLimit, Reject answers 413 without
// the upstream; ProcessPartial inspects the first bytes and sends the
// whole body on.
func TestWAFBodyLimit(t *testing.T) {
	big := strings.Repeat("a", 300) + "evil"
	rule := "SecRule REQUEST_BODY \"@contains evil\" \"id:4,phase:2,deny,status:403\"\n"
	f, got := wafFixture(t, "SecRuleEngine On\nSecRequestBodyAccess On\nSecRequestBodyLimit 100\nSecRequestBodyLimitAction Reject\n"+rule, "")
	if resp := post(t, f, big); resp.StatusCode != 413 || got() != nil {
		t.Errorf("Reject: %d, upstream got %d bytes", resp.StatusCode, len(got()))
	}
	if resp := post(t, f, "fine"); resp.StatusCode != 200 || string(got()) != "fine" {
		t.Errorf("small body: %d %q", resp.StatusCode, got())
	}
	if resp := post(t, f, "so evil"); resp.StatusCode != 403 {
		t.Errorf("body rule: %d", resp.StatusCode)
	}
	f, got = wafFixture(t, "SecRuleEngine On\nSecRequestBodyAccess On\nSecRequestBodyLimit 100\nSecRequestBodyLimitAction ProcessPartial\n"+rule, "")
	if resp := post(t, f, big); resp.StatusCode != 200 || string(got()) != big {
		t.Errorf("ProcessPartial: %d, upstream got %d of %d bytes", resp.StatusCode, len(got()), len(big))
	}
}

// BenchmarkWAF is the same request through a route without the WAF and
// with the Core Rule Set (moat's default configuration, SecRuleEngine
// On): a plain GET and a small JSON POST.
func BenchmarkWAF(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "hello")
	}))
	defer up.Close()
	text, err := waf.Compose(waf.Global{}, waf.Location{Enable: true, EnableSet: true, CRS: true,
		Snippet: "Include /etc/nginx/modsecurity/modsecurity.conf\nSecRuleEngine On"})
	if err != nil {
		b.Fatal(err)
	}
	crs := wafEngine(b, text)
	const body = `{"name":"widget","qty":3,"tags":["a","b"],"note":"a small order"}`
	for _, mode := range []string{"off", "crs"} {
		rt := prefix("/", "a")
		if mode == "crs" {
			rt.Policy = &routecfg.RoutePolicy{WAF: &routecfg.WAF{Engine: crs}}
		}
		f := newFixture(b, config([]*routecfg.Pool{pool("a", addr(up))}, &routecfg.VirtualHost{Host: "foo.com", Routes: []*routecfg.Route{rt}}), false)
		f.h.accessLog = accesslog.NewWriter(io.Discard, false, f.h.logger, nil)
		for _, method := range []string{"GET", "POST"} {
			b.Run(method+"/"+mode, func(b *testing.B) {
				w := &discardWriter{h: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					var rb io.Reader
					if method == "POST" {
						rb = strings.NewReader(body)
					}
					req := httptest.NewRequest(method, "http://foo.com/api/items?page=2&sort=name", rb)
					req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
					req.Header.Set("Accept", "application/json")
					if method == "POST" {
						req.Header.Set("Content-Type", "application/json")
					}
					clear(w.h)
					f.h.ServeHTTP(w, req)
					if w.code != 200 {
						b.Fatalf("status %d", w.code)
					}
				}
			})
		}
	}
}
