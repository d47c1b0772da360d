package e2e

import (
	"strings"
	"testing"
)

// TestAnnotationsWithoutSwitch: options set without the annotation that
// enables them (cors-* without enable-cors, auth-* without auth-url or
// auth-type, canary-* without canary, session-cookie-* without affinity,
// a redirect code without its redirect) change nothing, as in
// ingress-nginx, and each gets a warning naming it; the routes serve.
func TestAnnotationsWithoutSwitch(t *testing.T) {
	dir := t.TempDir()
	app := startEcho(t, "127.0.0.1:0", "app")
	other := startEcho(t, "127.0.0.1:0", "other")
	writeFile(t, dir, "all.yaml", join(
		service("default", "app", app),
		service("default", "other", other),
		trafficIngress("cors", "cors.example", map[string]string{"cors-allow-origin": "https://a.example", "cors-allow-credentials": "true"}, "/", "app"),
		trafficIngress("corsoff", "corsoff.example", map[string]string{"enable-cors": "false", "cors-max-age": "10"}, "/", "app"),
		trafficIngress("signin", "signin.example", map[string]string{"auth-signin": "https://login.example/", "auth-response-headers": "X-User"}, "/", "app"),
		trafficIngress("realm", "realm.example", map[string]string{"auth-realm": "Staff", "auth-secret": "users"}, "/", "app"),
		trafficIngress("main", "shop.example", nil, "/", "app"),
		trafficIngress("notcanary", "notcanary.example", map[string]string{"canary-weight": "100", "canary-by-header": "X-Canary"}, "/", "other"),
		trafficIngress("cookie", "cookie.example", map[string]string{"session-cookie-name": "route", "affinity-mode": "persistent"}, "/", "app"),
		trafficIngress("code", "code.example", map[string]string{"permanent-redirect-code": "308"}, "/", "app"),
	))
	m := startMoat(t, dir, nil)
	c := m.client(nil, false)

	for _, host := range []string{"cors.example", "corsoff.example"} {
		r := send(t, c, "GET", "http://"+host+"/", map[string]string{"Origin": "https://a.example"}, nil)
		if r.status != 200 || r.backendName() != "app" || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: %d from %q, CORS headers %v", host, r.status, r.backendName(), r.header)
		}
		if r := send(t, c, "OPTIONS", "http://"+host+"/", map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "PUT"}, nil); r.status == 204 {
			t.Errorf("%s: preflight answered by moat without enable-cors", host)
		}
	}
	for _, host := range []string{"signin.example", "realm.example", "code.example"} {
		if r := get(t, c, "http://"+host+"/"); r.status != 200 || r.backendName() != "app" {
			t.Errorf("%s: %d from %q, want 200 from app", host, r.status, r.backendName())
		}
	}
	// Not a canary: a normal Ingress of its own host, nothing on shop.
	for i := 0; i < 5; i++ {
		if r := send(t, c, "GET", "http://shop.example/", map[string]string{"X-Canary": "always"}, nil); r.backendName() != "app" {
			t.Fatalf("shop.example went to %q", r.backendName())
		}
	}
	if r := get(t, c, "http://notcanary.example/"); r.status != 200 || r.backendName() != "other" {
		t.Errorf("notcanary.example: %d from %q", r.status, r.backendName())
	}
	if r := get(t, c, "http://cookie.example/"); r.status != 200 || setCookie(r, "route") != "" {
		t.Errorf("cookie.example: %d, Set-Cookie %v", r.status, r.header.Values("Set-Cookie"))
	}

	d := m.diagnostics(t)
	for reason, keys := range map[string][]string{
		"CORSNotEnabled":     {"cors-allow-origin", "cors-allow-credentials", "cors-max-age"},
		"AuthURLMissing":     {"auth-signin", "auth-response-headers"},
		"AuthTypeMissing":    {"auth-realm", "auth-secret"},
		"CanaryNotEnabled":   {"canary-weight", "canary-by-header"},
		"AffinityNotEnabled": {"session-cookie-name", "affinity-mode"},
		"RedirectMissing":    {"permanent-redirect-code"},
	} {
		for _, k := range keys {
			if !strings.Contains(d, reason) || !strings.Contains(d, "annotation "+pfx+k+" has no effect") {
				t.Errorf("no %s diagnostic naming %s:\n%s", reason, k, d)
			}
		}
	}
}
