package httprule

import (
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestCORSOrigins(t *testing.T) {
	for _, tc := range []struct {
		allow string
		yes   []string
		no    []string
	}{
		{"https://www.foo.com", []string{"https://www.foo.com", "https://WWW.foo.com", "https://www.foo.com:443"},
			[]string{"http://www.foo.com", "https://www.foo.com:8443", "https://x.www.foo.com", "https://www.foo.com.evil"}},
		{"https://*.bar.com", []string{"https://www.bar.com", "https://xpto.www.bar.com"},
			[]string{"https://bar.com", "https://www.bar.com.evil", "https://evilbar.com", "http://www.bar.com"}},
		{"http://a.example:8080", []string{"http://a.example:8080"}, []string{"http://a.example", "http://a.example:80"}},
		{"*", []string{"https://foobar.com:12345", "null"}, []string{""}},
	} {
		re, ok := originRegexp(tc.allow)
		if !ok {
			t.Fatalf("%s refused", tc.allow)
		}
		for _, o := range tc.yes {
			if !re.MatchString(o) {
				t.Errorf("%s does not allow %s", tc.allow, o)
			}
		}
		for _, o := range tc.no {
			if re.MatchString(o) {
				t.Errorf("%s allows %s", tc.allow, o)
			}
		}
	}
	for _, bad := range []string{"ftp://a.com", "https://a.*.com", "www.foo.com", "https://a.com/path", "https://a.com:99999"} {
		if _, msg, _ := CORS(&gatewayv1.HTTPCORSFilter{AllowOrigins: []gatewayv1.CORSOrigin{gatewayv1.CORSOrigin(bad)}}, "f"); msg == "" {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestCORSFilter(t *testing.T) {
	yes := true
	c, msg, _ := CORS(&gatewayv1.HTTPCORSFilter{
		AllowMethods:     []gatewayv1.HTTPMethodWithWildcard{"*"},
		AllowHeaders:     []gatewayv1.HTTPHeaderName{"x-a", "x-b"},
		ExposeHeaders:    []gatewayv1.HTTPHeaderName{"*"},
		AllowCredentials: &yes,
	}, "f")
	if msg != "" {
		t.Fatal(msg)
	}
	if !c.EchoMethods || c.EchoHeaders || c.AllowHeaders != "x-a, x-b" || c.ExposeHeaders != "" || !c.AllowCredentials ||
		c.MaxAge != "5" || c.PreflightStatus != 200 || c.AnyOrigin {
		t.Errorf("got %+v", c)
	}
	c, _, _ = CORS(&gatewayv1.HTTPCORSFilter{ExposeHeaders: []gatewayv1.HTTPHeaderName{"*"}, MaxAge: 60}, "f")
	if c.ExposeHeaders != "*" || c.MaxAge != "60" || c.AllowCredentials {
		t.Errorf("without credentials: got %+v", c)
	}
	if _, msg, f := CORS(&gatewayv1.HTTPCORSFilter{AllowHeaders: []gatewayv1.HTTPHeaderName{"bad header"}}, "f"); msg == "" || f != "f.allowHeaders[0]" {
		t.Errorf("bad header name: %q at %s", msg, f)
	}
}
