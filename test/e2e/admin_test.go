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
		`moat_requests_total{code="200",host="shop.example",ingress="shop/storefront",service="shop/web"} 3`,
		`moat_requests_total{code="404",host="_"`,
		`moat_request_duration_seconds_count{host="shop.example",ingress="shop/storefront",service="shop/web"} 3`,
		`moat_config_applies_total{result="success"}`,
		`moat_config_last_apply_timestamp_seconds`,
		`moat_certificate_expiry_timestamp_seconds{host="shop.example",secret="shop/web-cert"}`,
		`moat_upstream_connect_errors_total`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", grepLines(metrics, "moat_"))
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
