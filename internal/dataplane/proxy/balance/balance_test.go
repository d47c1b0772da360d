package balance

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestSameSiteNoneCompatible(t *testing.T) {
	for ua, want := range map[string]bool{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36": true,
		"Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/58.0.3029 Safari/537.36":   false,
		"Mozilla/5.0 (iPhone; CPU iPhone OS 12_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)":       false,
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605":   false,
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605":   true,
		"curl/8.5.0": true,
	} {
		if got := sameSiteNoneCompatible(ua); got != want {
			t.Errorf("%s: %v", ua, got)
		}
	}
}

func TestAffinityCookie(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := httptest.NewRequest("GET", "http://a.example/x", nil)
	rt := &routecfg.Route{Path: "/shop", Match: routecfg.MatchPrefix}
	a := &routecfg.Affinity{CookieName: "INGRESSCOOKIE", HasMaxAge: true, MaxAge: 0, HasExpires: true, Expires: 60}
	c := affinityCookie(a, "k|p", r, rt, now)
	for _, want := range []string{"INGRESSCOOKIE=k|p", "Path=/shop", "Max-Age=0", "Expires=Fri, 02 Jan 2026 03:05:05 GMT", "HttpOnly"} {
		if !strings.Contains(c, want) {
			t.Errorf("%q lacks %q", c, want)
		}
	}
	if strings.Contains(c, "Secure") {
		t.Errorf("plain HTTP cookie is Secure: %q", c)
	}
	// A regex route has no usable cookie path: "/".
	rx := &routecfg.Route{Path: "/api/v[0-9]+", Match: routecfg.MatchRegex, Regex: regexp.MustCompile("^/api")}
	if c := affinityCookie(&routecfg.Affinity{CookieName: "x"}, "v", r, rx, now); !strings.Contains(c, "Path=/;") && !strings.HasSuffix(c, "Path=/") {
		t.Errorf("regex route cookie path: %q", c)
	}
}

func TestPickBackend(t *testing.T) {
	if p, s, _ := PickBackend([]routecfg.Backend{{Pool: "a", Weight: 0}}); p != "" || s != 500 {
		t.Errorf("zero weight: %q %d", p, s)
	}
	if p, s, _ := PickBackend([]routecfg.Backend{{Status: 500, Weight: 1}}); p != "" || s != 500 {
		t.Errorf("invalid backend: %q %d", p, s)
	}
	n := map[string]int{}
	for range 4000 {
		p, _, _ := PickBackend([]routecfg.Backend{{Pool: "a", Weight: 1}, {Pool: "b", Weight: 3}, {Pool: "c", Weight: 0}})
		n[p]++
	}
	// 1000 expected for a: a bound far outside chance (p < 1e-9).
	if n["c"] != 0 || n["a"] < 800 || n["a"] > 1200 {
		t.Errorf("weights 1:3:0 gave %v", n)
	}
}
