package gatewayapi

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

func fields(diags []Diagnostic) string {
	var out []string
	for _, d := range diags {
		out = append(out, strings.TrimPrefix(d.Field, "metadata.annotations."+prefix))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

const rule = `spec:
  rules:
  - host: a.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]
`

// proxy-ssl-* becomes a BackendTLSPolicy only where it verifies; what a
// policy does otherwise (SNI always, no client certificate) is reported.
func TestBackendTLSPolicyConversion(t *testing.T) {
	caSecret := "---\napiVersion: v1\nkind: Secret\nmetadata: {name: ca, namespace: shop}\ndata: {ca.crt: eA==}\n"
	withClient := "---\napiVersion: v1\nkind: Secret\nmetadata: {name: ca, namespace: shop}\ndata: {ca.crt: eA==, tls.crt: eA==, tls.key: eA==}\n"
	noCA := "---\napiVersion: v1\nkind: Secret\nmetadata: {name: ca, namespace: shop}\ndata: {tls.crt: eA==}\n"
	ann := func(extra string) string {
		return head + "    nginx.ingress.kubernetes.io/backend-protocol: HTTPS\n" + extra + rule
	}
	verify := "    nginx.ingress.kubernetes.io/proxy-ssl-secret: ca\n    nginx.ingress.kubernetes.io/proxy-ssl-verify: \"on\"\n"
	for _, tc := range []struct {
		name, in, diags, host string // host "": no policy
	}{
		{"verified", ann(verify+"    nginx.ingress.kubernetes.io/proxy-ssl-server-name: \"on\"\n    nginx.ingress.kubernetes.io/proxy-ssl-name: b.internal\n") + caSecret, "", "b.internal"},
		{"default name, no SNI", ann(verify) + caSecret, "proxy-ssl-server-name", "s.shop.svc"},
		{"client certificate", ann(verify+"    nginx.ingress.kubernetes.io/proxy-ssl-server-name: \"on\"\n") + withClient, "proxy-ssl-secret", "s.shop.svc"},
		{"Secret not in input", ann(verify + "    nginx.ingress.kubernetes.io/proxy-ssl-server-name: \"on\"\n"), "proxy-ssl-secret", "s.shop.svc"},
		{"no ca.crt", ann(verify) + noCA, "proxy-ssl-secret", ""},
		{"unverified", ann("    nginx.ingress.kubernetes.io/proxy-ssl-secret: ca\n") + caSecret, "backend-protocol", ""},
		{"other namespace", ann("    nginx.ingress.kubernetes.io/proxy-ssl-secret: other/ca\n    nginx.ingress.kubernetes.io/proxy-ssl-verify: \"on\"\n"), "proxy-ssl-secret", ""},
	} {
		m, diags := convert(t, tc.in)
		if got := fields(diags); got != tc.diags {
			t.Errorf("%s: diagnostics %q, want %q: %v", tc.name, got, tc.diags, diags)
		}
		d, ok := m["BackendTLSPolicy shop/s"]
		if tc.host == "" {
			if ok {
				t.Errorf("%s: a policy was written:\n%s", tc.name, d)
			}
			continue
		}
		var p gwv1.BackendTLSPolicy
		if err := sigsyaml.UnmarshalStrict(d, &p); err != nil {
			t.Fatalf("%s: %v in\n%s", tc.name, err, d)
		}
		v := p.Spec.Validation
		if string(v.Hostname) != tc.host || len(v.CACertificateRefs) != 1 || v.CACertificateRefs[0].Kind != "Secret" || v.CACertificateRefs[0].Name != "ca" ||
			len(p.Spec.TargetRefs) != 1 || p.Spec.TargetRefs[0].Kind != "Service" || p.Spec.TargetRefs[0].Name != "s" {
			t.Errorf("%s: policy\n%s", tc.name, d)
		}
	}
}

// Timeouts: backendRequest is proxy-read-timeout; connect and send are
// reported when backendRequest bounds them differently; GRPCRoute has none.
func TestTimeoutsConversion(t *testing.T) {
	for _, tc := range []struct {
		ann, want, diags string
	}{
		{"proxy-read-timeout: \"120\"", "120s", ""},
		{"proxy-read-timeout: 2m", "120s", ""},
		{"proxy-connect-timeout: \"10\"", "60s", "metadata.annotations"},
		{"proxy-read-timeout: \"1\"", "1s", "metadata.annotations"},
		{"proxy-read-timeout: soon", "", "proxy-read-timeout"},
	} {
		m, diags := convert(t, head+"    nginx.ingress.kubernetes.io/"+tc.ann+"\n"+rule)
		r := httpRoute(t, m["HTTPRoute shop/app"])
		got := ""
		if tm := r.Spec.Rules[0].Timeouts; tm != nil {
			got = string(*tm.BackendRequest)
		}
		if got != tc.want || fields(diags) != tc.diags {
			t.Errorf("%s: backendRequest %q diags %q, want %q %q", tc.ann, got, fields(diags), tc.want, tc.diags)
		}
	}
	_, diags := convert(t, head+"    nginx.ingress.kubernetes.io/backend-protocol: GRPC\n    nginx.ingress.kubernetes.io/proxy-read-timeout: \"9\"\n"+rule)
	if fields(diags) != "proxy-read-timeout" {
		t.Errorf("GRPCRoute timeouts: %v", diags)
	}
}

// CORS: ingress-nginx's defaults written out; "*" and wildcard origins
// and the preflight status reported.
func TestCORSConversion(t *testing.T) {
	m, diags := convert(t, head+"    nginx.ingress.kubernetes.io/enable-cors: \"true\"\n"+rule)
	f := httpRoute(t, m["HTTPRoute shop/app"]).Spec.Rules[0].Filters
	if len(f) != 1 || f[0].CORS == nil {
		t.Fatalf("filters %+v", f)
	}
	c := f[0].CORS
	if len(c.AllowOrigins) != 1 || c.AllowOrigins[0] != "*" || !*c.AllowCredentials || c.MaxAge != 1728000 ||
		len(c.AllowMethods) != 6 || len(c.AllowHeaders) != 9 || len(c.ExposeHeaders) != 0 {
		t.Errorf("CORS %+v", c)
	}
	if fields(diags) != "cors-allow-origin,enable-cors" {
		t.Errorf("diagnostics %v", diags)
	}
	m, _ = convert(t, head+"    nginx.ingress.kubernetes.io/enable-cors: \"true\"\n    nginx.ingress.kubernetes.io/cors-allow-origin: \"https://a.com, ftp://b.com\"\n"+
		"    nginx.ingress.kubernetes.io/cors-allow-credentials: \"false\"\n    nginx.ingress.kubernetes.io/cors-max-age: \"7\"\n"+rule)
	c = httpRoute(t, m["HTTPRoute shop/app"]).Spec.Rules[0].Filters[0].CORS
	if len(c.AllowOrigins) != 1 || c.AllowOrigins[0] != "https://a.com" || *c.AllowCredentials || c.MaxAge != 7 {
		t.Errorf("CORS %+v", c)
	}
}

// canary-by-cookie: Cookie header matches after the header's, for
// "always" (canary) and "never" (main).
func TestCanaryByCookieConversion(t *testing.T) {
	in := head + rule + "---\n" + strings.Replace(head, "name: app", "name: app-canary", 1) +
		"    nginx.ingress.kubernetes.io/canary: \"true\"\n    nginx.ingress.kubernetes.io/canary-by-cookie: user.beta\n" +
		strings.Replace(rule, "name: s,", "name: c,", 1)
	m, diags := convert(t, in)
	if len(diags) != 0 {
		t.Errorf("diagnostics %v", diags)
	}
	r := httpRoute(t, m["HTTPRoute shop/app"])
	if len(r.Spec.Rules) != 3 {
		t.Fatalf("rules %+v", r.Spec.Rules)
	}
	for i, want := range []struct{ value, backend string }{{"always", "c"}, {"never", "s"}} {
		h := r.Spec.Rules[i].Matches[0].Headers
		if len(h) != 1 || h[0].Name != "Cookie" || *h[0].Type != gwv1.HeaderMatchRegularExpression || string(r.Spec.Rules[i].BackendRefs[0].Name) != want.backend {
			t.Fatalf("rule %d: %+v", i, r.Spec.Rules[i])
		}
		re := regexp.MustCompile(h[0].Value)
		for cookie, match := range map[string]bool{"user.beta=" + want.value: true, "a=b; user.beta=" + want.value + "; c=d": true,
			"userxbeta=" + want.value: false, "user.beta=" + want.value + "x": false, "xuser.beta=" + want.value: false} {
			if re.MatchString(cookie) != match {
				t.Errorf("%s on %q: %v", h[0].Value, cookie, !match)
			}
		}
	}
}
