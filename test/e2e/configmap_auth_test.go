package e2e

import (
	"fmt"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestConfigMapNoAuthLocations: an Ingress path starting with one of
// no-auth-locations gets no authentication at all (global-auth-url, the
// Ingress's auth-url and basic auth), as ingress-nginx's template leaves
// auth_request and auth_basic out of those locations; other paths of the
// same host and Ingress still ask. The default list lets ACME HTTP-01
// challenges through.
func TestConfigMapNoAuthLocations(t *testing.T) {
	appAddr := startEcho(t, "127.0.0.1:0", "app")
	global := authBackend(t, "global", "")
	own := authBackend(t, "own", "")
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	users := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: users, namespace: default}\nstringData:\n  auth: \"bob:%s\"\n", hash)

	t.Run("default", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"global-auth-url": global + "/global"},
			service("default", "app", appAddr),
			trafficIngress("site", "acme.example", nil, "/", "app", "/.well-known/acme-challenge", "app"),
		)
		c := m.client(nil, false)
		if r := get(t, c, "http://acme.example/.well-known/acme-challenge/tok"); r.status != 200 || r.echo.Name != "app" {
			t.Errorf("ACME challenge under global auth: %d", r.status)
		}
		if r := get(t, c, "http://acme.example/other"); r.status != 401 {
			t.Errorf("other path under global auth: %d, want 401", r.status)
		}
	})

	t.Run("custom", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"global-auth-url": global + "/global", "no-auth-locations": "/public, /open"},
			service("default", "app", appAddr),
			users,
			trafficIngress("global", "g.example", nil, "/", "app", "/public", "app", "/.well-known/acme-challenge", "app"),
			trafficIngress("own", "own.example", map[string]string{"auth-url": own + "/own", "auth-signin": "https://login.example/"}, "/", "app", "/public-docs", "app"),
			trafficIngress("basic", "basic.example", map[string]string{"auth-type": "basic", "auth-secret": "users",
				"whitelist-source-range": "10.0.0.0/8"}, "/", "app", "/open", "app"),
		)
		c := m.client(nil, false)
		for _, tc := range []struct {
			url  string
			want int
		}{
			{"http://g.example/public/x", 200},
			{"http://g.example/x", 401},
			// The list replaces the default.
			{"http://g.example/.well-known/acme-challenge/tok", 401},
			// An Ingress path that starts with the prefix.
			{"http://own.example/public-docs", 200},
			// No signin redirect either.
			{"http://own.example/x", 302},
			// The address check stays: only authentication is left out.
			{"http://basic.example/open", 403},
			{"http://basic.example/", 403},
		} {
			if r := get(t, c, tc.url); r.status != tc.want {
				t.Errorf("%s: %d, want %d", tc.url, r.status, tc.want)
			}
		}
		if r := basicReq(t, c, "http://basic.example/", "bob", "s3cret"); r.status != 403 {
			t.Errorf("basic auth with a good password from a refused address: %d", r.status)
		}
	})

	t.Run("basic", func(t *testing.T) {
		m := startWithConfigMap(t, map[string]string{"no-auth-locations": "/open"},
			service("default", "app", appAddr),
			users,
			trafficIngress("basic", "basic.example", map[string]string{"auth-type": "basic", "auth-secret": "users"}, "/", "app", "/open", "app"),
		)
		c := m.client(nil, false)
		if r := get(t, c, "http://basic.example/open/x"); r.status != 200 || r.echo.Name != "app" {
			t.Errorf("basic auth on a no-auth location: %d", r.status)
		}
		if r := get(t, c, "http://basic.example/x"); r.status != 401 {
			t.Errorf("basic auth elsewhere: %d", r.status)
		}
		if r := basicReq(t, c, "http://basic.example/x", "bob", "s3cret"); r.status != 200 {
			t.Errorf("basic auth with the password: %d", r.status)
		}
	})
}
