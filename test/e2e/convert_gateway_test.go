package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/convert/gatewayapi"
	"github.com/moat-ingress/moat/internal/echo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// convertIngresses are annotated Ingresses covering each key the Gateway
// API converter claims; the differential test serves them as written and
// as converted.
func convertIngresses(t *testing.T, ca *testCA, web, web2, api string) string {
	ing := func(name, host, annotations, tls, paths string) string {
		s := fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: %s\n  namespace: shop\n  annotations: {%s}\nspec:\n", name, annotations)
		if tls != "" {
			s += fmt.Sprintf("  tls: [{hosts: [%s], secretName: %s}]\n", host, tls)
		}
		return s + fmt.Sprintf("  rules:\n  - host: %s\n    http:\n      paths:\n%s", host, paths)
	}
	p := func(path, typ, svc string) string {
		return fmt.Sprintf("      - {path: %q, pathType: %s, backend: {service: {name: %s, port: {number: 80}}}}\n", path, typ, svc)
	}
	const a = "nginx.ingress.kubernetes.io/"
	return join(
		service("shop", "web", web), service("shop", "web2", web2), service("shop", "api", api),
		ca.secret(t, "shop", "secure-tls", "secure.example.com"),
		ing("plain", "plain.example.com", "", "", p("/", "Prefix", "web")+p("/exact", "Exact", "api")+p("/api", "Prefix", "api")),
		ing("secure", "secure.example.com", "", "secure-tls", p("/", "Prefix", "web")),
		// No tls entry of its own: the host's TLS comes from "secure".
		ing("secure-api", "secure.example.com", "", "", p("/api", "Prefix", "api")),
		ing("forced", "forced.example.com", a+"force-ssl-redirect: \"true\"", "", p("/", "Prefix", "web")),
		ing("strip", "strip.example.com", a+"rewrite-target: /$2, "+a+"x-forwarded-prefix: /api", "", p("/api(/|$)(.*)", "ImplementationSpecific", "api")),
		ing("fixed", "fixed.example.com", a+"rewrite-target: /new", "", p("/old", "Prefix", "api")),
		ing("moved", "moved.example.com", a+"permanent-redirect: https://elsewhere.example.com/landing", "", p("/", "Prefix", "web")),
		ing("temp", "temp.example.com", a+"temporal-redirect: http://elsewhere.example.com:8080/t", "", p("/", "Prefix", "web")),
		ing("alias", "alias.example.com", a+"server-alias: 'other.example.com, third.example.com'", "", p("/", "Prefix", "web")),
		ing("approot", "approot.example.com", a+"app-root: /app", "", p("/", "Prefix", "web")),
		ing("re", "re.example.com", a+"use-regex: \"true\"", "", p("/items/[0-9]+", "ImplementationSpecific", "api")+p("/", "Prefix", "web")),
		ing("vhost", "vhost.example.com", a+"upstream-vhost: internal.example", "", p("/", "Prefix", "web")),
		ing("can0", "can0.example.com", "", "", p("/", "Prefix", "web")),
		ing("can0-canary", "can0.example.com", a+"canary: \"true\", "+a+"canary-weight: \"0\"", "", p("/", "Prefix", "web2")),
		ing("can100", "can100.example.com", "", "", p("/", "Prefix", "web")),
		ing("can100-canary", "can100.example.com", a+"canary: \"true\", "+a+"canary-weight: \"100\"", "", p("/", "Prefix", "web2")),
		ing("hdr", "hdr.example.com", "", "", p("/", "Prefix", "web")),
		ing("hdr-canary", "hdr.example.com", a+"canary: \"true\", "+a+"canary-by-header: X-Canary, "+a+"canary-by-header-value: beta", "", p("/", "Prefix", "web2")),
	)
}

// TestConvertGatewayAPIDifferential serves annotated Ingresses with one
// moat and their `moat convert --to gateway-api` output with another, sends
// both the same requests, and compares status, backend, the path and host
// the backend saw, and Location.
func TestConvertGatewayAPIDifferential(t *testing.T) {
	ca := newCA(t)
	web, web2, api := startEcho(t, "127.0.0.1:0", "web"), startEcho(t, "127.0.0.1:0", "web2"), startEcho(t, "127.0.0.1:0", "api")
	src := convertIngresses(t, ca, web, web2, api)
	converted, diags, err := gatewayapi.Convert([]byte(src), gatewayapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The one report: force-ssl-redirect on a host without TLS converts
	// the redirect only (HTTPS for it needs a listener and certificate).
	if len(diags) != 1 || !strings.Contains(diags[0].String(), "shop/forced") {
		t.Errorf("want one diagnostic for shop/forced, got %v", diags)
	}
	if strings.Contains(string(converted), "kind: Ingress\n") {
		t.Fatalf("converted output still holds an Ingress:\n%s", converted)
	}
	ingDir, gwDir := t.TempDir(), t.TempDir()
	writeFile(t, ingDir, "ingresses.yaml", src)
	writeFile(t, gwDir, "gateway.yaml", string(converted))
	ingM, gwM := startMoat(t, ingDir, nil), startMoat(t, gwDir, nil)
	ingC, gwC := ingM.client(ca.pool, false), gwM.client(ca.pool, false)

	type answer struct {
		Status              int
		Backend, Path, Host string
		Query, Location     string
		Prefix              string // X-Forwarded-Prefix the backend saw
	}
	ask := func(c *http.Client, url string) answer {
		t.Helper()
		r := get(t, c, url)
		return answer{r.status, r.echo.Name, r.echo.Path, r.echo.Host, r.echo.RawQuery, r.header.Get("Location"), strings.Join(r.echo.Headers["X-Forwarded-Prefix"], ",")}
	}
	// A Gateway redirect without a port keeps the listener's port; the
	// converted moat's "port 80" listener is really on a loopback port,
	// which stands for 80 (written as nothing) here.
	_, gwHTTPPort, _ := strings.Cut(gwM.addrs.HTTP, "127.0.0.1:")
	askGW := func(url string) answer {
		a := ask(gwC, url)
		a.Location = strings.Replace(a.Location, ".example.com:"+gwHTTPPort+"/", ".example.com/", 1)
		return a
	}
	cases := []struct {
		url  string
		want answer // what ingress-nginx does; both must give it
	}{
		{"http://plain.example.com/x", answer{Status: 200, Backend: "web", Path: "/x", Host: "plain.example.com"}},
		{"http://plain.example.com/exact", answer{Status: 200, Backend: "api", Path: "/exact", Host: "plain.example.com"}},
		{"http://plain.example.com/exact/more", answer{Status: 200, Backend: "web", Path: "/exact/more", Host: "plain.example.com"}},
		{"http://plain.example.com/api/v1", answer{Status: 200, Backend: "api", Path: "/api/v1", Host: "plain.example.com"}},
		{"http://plain.example.com/apiv1", answer{Status: 200, Backend: "web", Path: "/apiv1", Host: "plain.example.com"}},
		{"http://secure.example.com/a?b=1", answer{Status: 308, Location: "https://secure.example.com/a?b=1"}},
		{"https://secure.example.com/a?b=1", answer{Status: 200, Backend: "web", Path: "/a", Host: "secure.example.com", Query: "b=1"}},
		{"http://secure.example.com/api/x", answer{Status: 308, Location: "https://secure.example.com/api/x"}},
		{"https://secure.example.com/api/x", answer{Status: 200, Backend: "api", Path: "/api/x", Host: "secure.example.com"}},
		{"http://forced.example.com/f", answer{Status: 308, Location: "https://forced.example.com/f"}},
		{"http://strip.example.com/api/items?q=1", answer{Status: 200, Backend: "api", Path: "/items", Host: "strip.example.com", Query: "q=1", Prefix: "/api"}},
		{"http://strip.example.com/api", answer{Status: 200, Backend: "api", Path: "/", Host: "strip.example.com", Prefix: "/api"}},
		{"http://fixed.example.com/old/deep", answer{Status: 200, Backend: "api", Path: "/new", Host: "fixed.example.com"}},
		{"http://moved.example.com/some/where", answer{Status: 301, Location: "https://elsewhere.example.com/landing"}},
		{"http://temp.example.com/x", answer{Status: 302, Location: "http://elsewhere.example.com:8080/t"}},
		{"http://other.example.com/o", answer{Status: 200, Backend: "web", Path: "/o", Host: "other.example.com"}},
		{"http://third.example.com/o", answer{Status: 200, Backend: "web", Path: "/o", Host: "third.example.com"}},
		{"http://approot.example.com/", answer{Status: 302, Location: "http://approot.example.com/app"}},
		{"http://approot.example.com/app", answer{Status: 200, Backend: "web", Path: "/app", Host: "approot.example.com"}},
		{"http://re.example.com/items/42", answer{Status: 200, Backend: "api", Path: "/items/42", Host: "re.example.com"}},
		{"http://re.example.com/ITEMS/42/x", answer{Status: 200, Backend: "api", Path: "/ITEMS/42/x", Host: "re.example.com"}},
		{"http://re.example.com/items/x", answer{Status: 200, Backend: "web", Path: "/items/x", Host: "re.example.com"}},
		{"http://vhost.example.com/v", answer{Status: 200, Backend: "web", Path: "/v", Host: "internal.example"}},
		{"http://unknown.example.com/", answer{Status: 404}},
	}
	for _, c := range cases {
		got, conv := ask(ingC, c.url), askGW(c.url)
		if got != c.want {
			t.Errorf("Ingress %s: %+v, want %+v", c.url, got, c.want)
		}
		if conv != got {
			t.Errorf("converted %s: %+v, Ingress gave %+v", c.url, conv, got)
		}
	}
	// Canary weights 0 and 100 send everything to one side, in both.
	for host, want := range map[string]string{"can0.example.com": "web", "can100.example.com": "web2"} {
		for range 20 {
			for name, c := range map[string]*http.Client{"Ingress": ingC, "converted": gwC} {
				if a := ask(c, "http://"+host+"/c"); a.Status != 200 || a.Backend != want {
					t.Fatalf("%s %s: %+v, want 200 from %s", name, host, a, want)
				}
			}
		}
	}
	// canary-by-header with a value: the header picks the canary.
	for _, hv := range []struct{ value, want string }{{"beta", "web2"}, {"no", "web"}, {"", "web"}} {
		for name, c := range map[string]*http.Client{"Ingress": ingC, "converted": gwC} {
			req, _ := http.NewRequest("GET", "http://hdr.example.com/h", nil)
			if hv.value != "" {
				req.Header.Set("X-Canary", hv.value)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e echo.Response
			_ = json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if e.Name != hv.want {
				t.Errorf("%s X-Canary=%q: %s, want %s", name, hv.value, e.Name, hv.want)
			}
		}
	}
	if t.Failed() {
		t.Logf("converted:\n%s", converted)
	}
}

// TestConvertGatewayAPIPassthrough: an ssl-passthrough Ingress becomes a
// TLSRoute on a Passthrough listener; both moats forward it unterminated
// to the backend's own TLS and terminate the other host on the same port.
func TestConvertGatewayAPIPassthrough(t *testing.T) {
	ca, backendCA := newCA(t), newCA(t)
	passBE := startTLSEcho(t, "pass-be", backendCA.leaf(t, "pass.example", false, "pass.example"), nil)
	web := startEcho(t, "127.0.0.1:0", "web")
	src := join(
		service("default", "pass-be", passBE),
		service("default", "web", web),
		ca.secret(t, "default", "site", "term.example"),
		annotate(ingress("default", "pass", "pass.example", "", "/", "pass-be"), map[string]string{"ssl-passthrough": "true"}),
		ingress("default", "term", "term.example", "site", "/", "web"),
	)
	converted, diags, err := gatewayapi.Convert([]byte(src), gatewayapi.Options{})
	if err != nil || len(diags) != 0 {
		t.Fatalf("convert: %v %v", err, diags)
	}
	ingDir, gwDir := t.TempDir(), t.TempDir()
	writeFile(t, ingDir, "ingresses.yaml", src)
	writeFile(t, gwDir, "gateway.yaml", string(converted))
	ingM := startMoat(t, ingDir, func(c *app.ServeConfig) { c.EnableSSLPassthrough = true })
	gwM := startMoat(t, gwDir, nil) // a Passthrough listener needs no flag
	for name, m := range map[string]*moat{"Ingress": ingM, "converted": gwM} {
		if r := get(t, m.client(backendCA.pool, false), "https://pass.example/"); r.status != 200 || r.echo.Name != "pass-be" || !r.echo.TLS {
			t.Errorf("%s pass.example: %d %+v", name, r.status, r.echo)
		}
		if r := get(t, m.client(ca.pool, false), "https://term.example/t"); r.status != 200 || r.echo.Name != "web" || r.echo.TLS || r.echo.Path != "/t" {
			t.Errorf("%s term.example: %d %+v", name, r.status, r.echo)
		}
	}
	if t.Failed() {
		t.Logf("converted:\n%s", converted)
	}
}

// TestConvertGatewayAPIGRPC: backend-protocol GRPC becomes a GRPCRoute;
// a gRPC call through either moat reaches the backend the path names.
func TestConvertGatewayAPIGRPC(t *testing.T) {
	ca := newCA(t)
	rootAddr, rootHealth := startGRPC(t, nil)
	svcAddr, svcHealth := startGRPC(t, nil)
	rootHealth.SetServingStatus("moat.Test", healthpb.HealthCheckResponse_NOT_SERVING)
	svcHealth.SetServingStatus("moat.Test", healthpb.HealthCheckResponse_SERVING)
	src := join(
		service("default", "root", rootAddr),
		service("default", "health", svcAddr),
		ca.secret(t, "default", "site", "grpc.example"),
		annotate(ingress("default", "grpc", "grpc.example", "site", "/", "root", "/grpc.health.v1.Health", "health"),
			map[string]string{"backend-protocol": "GRPC"}),
	)
	converted, diags, err := gatewayapi.Convert([]byte(src), gatewayapi.Options{})
	if err != nil || len(diags) != 0 || !strings.Contains(string(converted), "kind: GRPCRoute") {
		t.Fatalf("convert: %v %v\n%s", err, diags, converted)
	}
	ingDir, gwDir := t.TempDir(), t.TempDir()
	writeFile(t, ingDir, "ingresses.yaml", src)
	writeFile(t, gwDir, "gateway.yaml", string(converted))
	for name, m := range map[string]*moat{"Ingress": startMoat(t, ingDir, nil), "converted": startMoat(t, gwDir, nil)} {
		conn, err := grpc.NewClient("passthrough:///grpc.example:443",
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "tcp", m.addrs.HTTPS)
			}),
			grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{ServerName: "grpc.example", RootCAs: ca.pool})))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// SERVING only from the backend of the /grpc.health.v1.Health path.
		res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "moat.Test"})
		cancel()
		conn.Close()
		if err != nil || res.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("%s: Check: %v %v", name, res, err)
		}
	}
}
