package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func adminGet(t *testing.T, m *moat, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + m.addrs.Admin + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdminAndAccessLog: readiness, Prometheus metrics by host, Ingress,
// Service and code, configuration applies, certificate expiry, and one
// JSON access-log line per request.
func TestAdminAndAccessLog(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	be := startEcho(t, "127.0.0.1:0", "web")
	writeFile(t, dir, "m.yaml", join(service("shop", "web", be), ca.secret(t, "shop", "web-cert", "shop.example"),
		ingress("shop", "storefront", "shop.example", "web-cert", "/", "web")))
	m := startMoat(t, dir, nil)
	if code, body := adminGet(t, m, "/healthz"); code != 200 {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := adminGet(t, m, "/readyz"); code != 200 {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	c := m.client(ca.pool, false)
	for i := 0; i < 3; i++ {
		if r := get(t, c, "https://shop.example/item"); r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
	}
	get(t, m.client(nil, false), "https://nowhere.example/")

	_, metrics := adminGet(t, m, "/metrics")
	for _, want := range []string{
		`nginx_ingress_controller_requests{canary="",controller_class="moat.dev/ingress-controller",controller_namespace="",controller_pod=`,
		`host="shop.example",ingress="storefront",method="GET",namespace="shop",path="/",service="web",status="200"} 3`,
		`host="_",ingress="",method="GET",namespace="",path="",service="",status="404"} 1`,
		`nginx_ingress_controller_success{`,
		`nginx_ingress_controller_config_last_reload_successful_timestamp_seconds{`,
		`nginx_ingress_controller_ssl_expire_time_seconds{class="moat.dev/ingress-controller",host="shop.example",`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", grepLines(metrics, "nginx_ingress_controller_requests"))
	}

	// The access log: one JSON object per request with the fields operators
	// filter on.
	var line map[string]any
	eventually(t, 2*time.Second, "an access-log line for /item", func() bool {
		for _, l := range strings.Split(m.logs.String(), "\n") {
			if strings.Contains(l, `"path":"/item"`) && json.Unmarshal([]byte(l), &line) == nil {
				return true
			}
		}
		return false
	})
	for _, k := range []string{"time", "client", "host", "method", "path", "status", "bytes", "duration_ms", "upstream", "ingress", "request_id"} {
		if _, ok := line[k]; !ok {
			t.Errorf("access-log line lacks %q: %v", k, line)
		}
	}
	if line["ingress"] != "shop/storefront" || line["upstream"] != be || line["status"] != float64(200) {
		t.Errorf("access-log line: %v", line)
	}

	if code, body := adminGet(t, m, "/debug/config"); code != 200 || !strings.Contains(body, "host shop.example tls=shop/web-cert") {
		t.Errorf("/debug/config: %d\n%s", code, body)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
