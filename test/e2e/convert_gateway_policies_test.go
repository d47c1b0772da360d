package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/convert/gatewayapi"
)

// TestConvertGatewayAPIDifferentialPolicies extends the differential test
// to the keys converted into policies and filters: proxy-ssl-* with
// backend-protocol HTTPS (a BackendTLSPolicy: verified TLS, SNI, a wrong
// name refused), enable-cors + cors-* (the CORS filter's headers),
// proxy-read-timeout (backendRequest: 504 from a slow backend) and
// canary-by-cookie (Cookie header matches). One moat serves the Ingresses,
// another their conversion; both get the same requests and must give
// ingress-nginx's answer.
func TestConvertGatewayAPIDifferentialPolicies(t *testing.T) {
	backendCA := newCA(t)
	web, web2 := startEcho(t, "127.0.0.1:0", "web"), startEcho(t, "127.0.0.1:0", "web2")
	slow := startSlow(t)
	tlsBE := startTLSEcho(t, "tls-web", backendCA.leaf(t, "backend.internal", false, "backend.internal"), nil)
	ing := func(name, host, annotations, svc string) string {
		return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %s
  namespace: shop
  annotations: {%s}
spec:
  rules:
  - host: %s
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: %s, port: {number: 80}}}}]
`, name, annotations, host, svc)
	}
	const a = "nginx.ingress.kubernetes.io/"
	tlsAnn := func(name string) string {
		return a + "backend-protocol: HTTPS, " + a + "proxy-ssl-secret: shop/backend-ca, " + a + "proxy-ssl-verify: \"on\", " +
			a + "proxy-ssl-name: " + name + ", " + a + "proxy-ssl-server-name: \"on\""
	}
	src := join(
		service("shop", "web", web), service("shop", "web2", web2), service("shop", "slow", slow),
		service("shop", "tlsweb", tlsBE), service("shop", "tlsweb-wrong", tlsBE),
		opaqueSecret("shop", "backend-ca", map[string][]byte{"ca.crt": backendCA.caPEM()}),
		ing("tls", "tls.example.com", tlsAnn("backend.internal"), "tlsweb"),
		ing("tls-wrong", "tlswrong.example.com", tlsAnn("wrong.internal"), "tlsweb-wrong"),
		ing("cors", "cors.example.com", a+"enable-cors: \"true\", "+a+"cors-allow-origin: \"https://app.example.org, https://*.example.net\", "+
			a+"cors-expose-headers: X-Total, "+a+"cors-allow-methods: \"GET, POST\"", "web"),
		// Connect and send as backendRequest bounds them: converted exactly.
		ing("slow", "slow.example.com", a+"proxy-read-timeout: \"1\", "+a+"proxy-connect-timeout: 1s, "+a+"proxy-send-timeout: \"1\"", "slow"),
		ing("ck", "ck.example.com", "", "web"),
		ing("ck-canary", "ck.example.com", a+"canary: \"true\", "+a+"canary-by-cookie: beta_user", "web2"),
	)
	converted, diags, err := gatewayapi.Convert([]byte(src), gatewayapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The reports: what the CORS filter does differently, and nothing else.
	var got []string
	for _, d := range diags {
		got = append(got, d.Object+" "+d.Field)
	}
	sort.Strings(got)
	want := []string{
		"Ingress shop/cors metadata.annotations." + a + "cors-allow-origin",
		"Ingress shop/cors metadata.annotations." + a + "enable-cors",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"), diags)
	}
	for _, w := range []string{"kind: BackendTLSPolicy", "backendRequest: 1s", "type: CORS", "name: Cookie"} {
		if !strings.Contains(string(converted), w) {
			t.Errorf("converted output lacks %q", w)
		}
	}
	ingDir, gwDir := t.TempDir(), t.TempDir()
	writeFile(t, ingDir, "ingresses.yaml", src)
	writeFile(t, gwDir, "gateway.yaml", string(converted))
	ingM, gwM := startMoat(t, ingDir, nil), startMoat(t, gwDir, nil)
	ingC, gwC := ingM.client(nil, false), gwM.client(nil, false)

	type answer struct {
		Status       int
		Backend, SNI string
		CORS         string // the Access-Control-* headers, normalized
	}
	norm := func(v string) string {
		var parts []string
		for _, p := range strings.Split(v, ",") {
			parts = append(parts, strings.TrimSpace(p))
		}
		return strings.Join(parts, ",")
	}
	ask := func(c *http.Client, method, url string, hdr map[string]string) answer {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		var cors []string
		for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers",
			"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} {
			if v := resp.Header.Get(h); v != "" {
				cors = append(cors, h+"="+norm(v))
			}
		}
		return answer{resp.StatusCode, resp.Header.Get("X-Echo-Name"), resp.Header.Get("X-Backend-SNI"), strings.Join(cors, " ")}
	}
	origin := func(o string) map[string]string { return map[string]string{"Origin": o} }
	preflight := map[string]string{"Origin": "https://app.example.org", "Access-Control-Request-Method": "POST"}
	// ingress-nginx sends every Access-Control-* header on every answer
	// to an allowed Origin, preflight or not.
	corsFor := func(o string) string {
		return "Access-Control-Allow-Origin=" + o + " Access-Control-Allow-Credentials=true Access-Control-Expose-Headers=X-Total " +
			"Access-Control-Allow-Methods=GET,POST Access-Control-Allow-Headers=" + norm("DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization") +
			" Access-Control-Max-Age=1728000"
	}
	cases := []struct {
		method, url string
		hdr         map[string]string
		want        answer // what ingress-nginx does; both must give it
		status      bool   // compare the status (a preflight's differs: 204 and 200)
	}{
		{"GET", "http://tls.example.com/", nil, answer{Status: 200, Backend: "tls-web", SNI: "backend.internal"}, true},
		{"GET", "http://tlswrong.example.com/", nil, answer{Status: 502}, true},
		{"GET", "http://cors.example.com/", origin("https://app.example.org"), answer{Status: 200, Backend: "web", CORS: corsFor("https://app.example.org")}, true},
		{"GET", "http://cors.example.com/", origin("https://a.example.net"), answer{Status: 200, Backend: "web", CORS: corsFor("https://a.example.net")}, true},
		{"GET", "http://cors.example.com/", origin("https://evil.example.com"), answer{Status: 200, Backend: "web"}, true},
		{"OPTIONS", "http://cors.example.com/", preflight, answer{CORS: corsFor("https://app.example.org")}, false},
		{"GET", "http://slow.example.com/?delay=3s", nil, answer{Status: 504}, true},
		{"GET", "http://slow.example.com/", nil, answer{Status: 200}, true},
		{"GET", "http://ck.example.com/", map[string]string{"Cookie": "beta_user=always"}, answer{Status: 200, Backend: "web2"}, true},
		{"GET", "http://ck.example.com/", map[string]string{"Cookie": "a=1; beta_user=always; b=2"}, answer{Status: 200, Backend: "web2"}, true},
		{"GET", "http://ck.example.com/", map[string]string{"Cookie": "beta_user=never"}, answer{Status: 200, Backend: "web"}, true},
		{"GET", "http://ck.example.com/", map[string]string{"Cookie": "xbeta_user=always"}, answer{Status: 200, Backend: "web"}, true},
		{"GET", "http://ck.example.com/", map[string]string{"Cookie": "beta_user=alwaysx"}, answer{Status: 200, Backend: "web"}, true},
		{"GET", "http://ck.example.com/", nil, answer{Status: 200, Backend: "web"}, true},
	}
	for _, c := range cases {
		got, conv := ask(ingC, c.method, c.url, c.hdr), ask(gwC, c.method, c.url, c.hdr)
		if !c.status {
			got.Status, conv.Status = 0, 0
		}
		if got != c.want {
			t.Errorf("Ingress %s %s %v: %+v, want %+v", c.method, c.url, c.hdr, got, c.want)
		}
		if conv != got {
			t.Errorf("converted %s %s %v: %+v, Ingress gave %+v", c.method, c.url, c.hdr, conv, got)
		}
	}
	if t.Failed() {
		t.Logf("converted:\n%s", converted)
	}
}
