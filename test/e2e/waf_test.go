package e2e

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/app"
)

// countingBackend answers 200 and counts the requests that reach it.
func countingBackend(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), &n
}

type wafCase struct {
	method, path, ctype, body string
}

func wafSend(t *testing.T, c *http.Client, host string, k wafCase) int {
	t.Helper()
	var body io.Reader
	if k.body != "" {
		body = strings.NewReader(k.body)
	}
	rq, err := http.NewRequest(k.method, "http://"+host+k.path, body)
	if err != nil {
		t.Fatal(err)
	}
	rq.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
	rq.Header.Set("Accept", "text/html,application/json;q=0.9,*/*;q=0.8")
	rq.Header.Set("Accept-Language", "en-US,en;q=0.5")
	if k.ctype != "" {
		rq.Header.Set("Content-Type", k.ctype)
	}
	resp, err := c.Do(rq)
	if err != nil {
		t.Fatalf("%s %s: %v", k.method, k.path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestWAF: the Core Rule Set with SecRuleEngine On blocks classic SQL
// injection and XSS in the query and the body with 403 before anything
// reaches the backend, and lets ordinary traffic through; DetectionOnly
// logs and passes; a refused directive and a syntax error are
// diagnostics naming the Ingress, whose paths answer 503, while the other
// routes serve on.
func TestWAF(t *testing.T) {
	dir := t.TempDir()
	blockBE, blockN := countingBackend(t)
	detectBE, detectN := countingBackend(t)
	plainBE, plainN := countingBackend(t)
	const uaRule = `SecRule REQUEST_HEADERS:User-Agent "@contains block-ua" "id:107,phase:1,log,deny,status:403,msg:'UA blocked'"`
	writeFile(t, dir, "all.yaml", join(
		`apiVersion: v1
kind: ConfigMap
metadata: {name: moat-config, namespace: ingress}
data:
  allow-snippet-annotations: "true"
  annotations-risk-level: Critical`,
		service("default", "block", blockBE),
		service("default", "detect", detectBE),
		service("default", "plain", plainBE),
		annIngress("block", "block.example", "block", map[string]string{
			"enable-modsecurity": "true", "enable-owasp-core-rules": "true",
			"modsecurity-snippet":        "Include /etc/nginx/modsecurity/modsecurity.conf\nSecRuleEngine On",
			"modsecurity-transaction-id": "waf-$request_id",
		}),
		annIngress("detect", "detect.example", "detect", map[string]string{
			"enable-modsecurity": "true", "modsecurity-snippet": "SecRuleEngine DetectionOnly\n" + uaRule,
		}),
		annIngress("custom", "custom.example", "detect", map[string]string{
			"enable-modsecurity": "true", "modsecurity-snippet": "SecRuleEngine On\nSecRequestBodyAccess On\nSecAuditEngine RelevantOnly\nSecAuditLogParts ABIJDEFHZ\nSecAuditLogType Serial\n" + uaRule,
		}),
		annIngress("refused", "refused.example", "plain", map[string]string{
			"enable-modsecurity": "true", "modsecurity-snippet": "SecRuleEngine On\nInclude /etc/passwd",
		}),
		annIngress("broken", "broken.example", "plain", map[string]string{
			"enable-modsecurity": "true", "modsecurity-snippet": "SecRuleEngine Maybe",
		}),
		annIngress("plain", "plain.example", "plain", nil),
	))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.ConfigMap = "ingress/moat-config" })
	c := m.client(nil, false)

	attacks := []wafCase{
		{"GET", "/?id=" + url.QueryEscape("1' OR '1'='1"), "", ""},
		{"GET", "/items?q=" + url.QueryEscape("1 UNION SELECT username, password FROM users--"), "", ""},
		{"GET", "/search?q=" + url.QueryEscape("<script>alert(1)</script>"), "", ""},
		{"POST", "/login", "application/x-www-form-urlencoded", "user=admin&pass=" + url.QueryEscape("x' OR '1'='1' --")},
		{"POST", "/comment", "application/x-www-form-urlencoded", "text=" + url.QueryEscape("<script>alert(document.cookie)</script>")},
		{"POST", "/api/items", "application/json", `{"name":"<script>alert(1)</script>"}`},
		{"POST", "/api/query", "application/json", `{"filter":"1 UNION SELECT password FROM users"}`},
	}
	for _, k := range attacks {
		before := blockN.Load()
		if got := wafSend(t, c, "block.example", k); got != http.StatusForbidden {
			t.Errorf("%s %s %s: %d, want 403", k.method, k.path, k.body, got)
		}
		if blockN.Load() != before {
			t.Errorf("%s %s %s reached the backend", k.method, k.path, k.body)
		}
	}
	// Ordinary traffic, as the rest of the e2e suite sends it.
	ordinary := []wafCase{
		{"GET", "/", "", ""},
		{"GET", "/api/items?page=2&sort=name&q=blue+shoes", "", ""},
		{"GET", "/static/app.js?v=1.2.3", "", ""},
		{"POST", "/api/items", "application/json", `{"name":"widget","qty":3,"tags":["a","b"],"note":"it's fine"}`},
		{"POST", "/signup", "application/x-www-form-urlencoded", "name=John+O%27Brien&email=john%40example.com&age=42"},
		{"HEAD", "/health", "", ""},
		{"OPTIONS", "/api/items", "", ""},
	}
	for _, k := range ordinary {
		before := blockN.Load()
		if got := wafSend(t, c, "block.example", k); got != http.StatusOK {
			t.Errorf("ordinary %s %s %s: %d, want 200", k.method, k.path, k.body, got)
		}
		if blockN.Load() != before+1 {
			t.Errorf("ordinary %s %s did not reach the backend once", k.method, k.path)
		}
	}
	// Go's own client headers (User-Agent Go-http-client) pass too.
	if r := get(t, c, "http://block.example/plain?x=1"); r.status != 200 {
		t.Errorf("Go client GET: %d", r.status)
	}
	// The transaction id from the annotation names the blocked request
	// in moat's log line for the matched rule.
	rq, _ := http.NewRequest("GET", "http://block.example/?id="+url.QueryEscape("1' OR '1'='1"), nil)
	rq.Header.Set("X-Request-ID", "0123456789abcdef0123456789abcdef")
	resp, err := c.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	eventually(t, 5*time.Second, "the matched-rule log line", func() bool {
		return strings.Contains(m.logs.String(), `"transaction_id":"waf-`)
	})

	// DetectionOnly: the rule matches and is logged; the request passes.
	before := detectN.Load()
	if got := wafSend(t, c, "detect.example", wafCase{"GET", "/?ua", "", ""}); got != 200 {
		t.Errorf("detect ordinary: %d", got)
	}
	rq, _ = http.NewRequest("GET", "http://detect.example/x", nil)
	rq.Header.Set("User-Agent", "block-ua")
	resp, err = c.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || detectN.Load() != before+2 {
		t.Errorf("DetectionOnly: %d, backend saw %d of 2", resp.StatusCode, detectN.Load()-before)
	}
	eventually(t, 5*time.Second, "the DetectionOnly log line", func() bool {
		return strings.Contains(m.logs.String(), `"msg":"UA blocked"`) && strings.Contains(m.logs.String(), `"ingress":"detect"`)
	})
	// ingress-nginx's e2e snippet: a custom rule blocks with its status.
	rq, _ = http.NewRequest("GET", "http://custom.example/", nil)
	rq.Header.Set("User-Agent", "block-ua")
	if resp, err = c.Do(rq); err != nil || resp.StatusCode != 403 {
		t.Errorf("custom rule: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Refused and broken rule sets: 503 there, diagnostics naming the
	// Ingress and the directive; the other routes serve on.
	for _, h := range []string{"refused.example", "broken.example"} {
		if r := get(t, c, "http://"+h+"/"); r.status != 503 {
			t.Errorf("%s: %d, want 503", h, r.status)
		}
	}
	if r := get(t, c, "http://plain.example/?id="+url.QueryEscape("1' OR '1'='1")); r.status != 200 || plainN.Load() != 1 {
		t.Errorf("plain (no WAF): %d, backend %d", r.status, plainN.Load())
	}
	diags := m.diagnostics(t)
	for _, want := range []string{"refused", "Include /etc/passwd", "broken", "secruleengine", "ModSecuritySnippetRefused"} {
		if !strings.Contains(diags, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, diags)
		}
	}
}

// TestWAFConfigMap: enable-modsecurity in the ConfigMap protects every
// location, an Ingress opts out with enable-modsecurity "false"; a
// ConfigMap snippet that breaks later makes the WAF locations answer 503
// (named in a diagnostic on the ConfigMap) while the opted-out one serves.
func TestWAFConfigMap(t *testing.T) {
	dir := t.TempDir()
	be, n := countingBackend(t)
	cm := func(snippet string) string {
		return `apiVersion: v1
kind: ConfigMap
metadata: {name: moat-config, namespace: ingress}
data:
  enable-modsecurity: "true"
  modsecurity-snippet: |
` + "    " + strings.ReplaceAll(snippet, "\n", "\n    ")
	}
	rule := "SecRuleEngine On\nSecRule ARGS:probe \"@streq evil\" \"id:9001,phase:1,deny,status:406,log,msg:'probe'\""
	writeFile(t, dir, "cm.yaml", cm(rule))
	writeFile(t, dir, "app.yaml", join(
		service("default", "app", be),
		annIngress("guarded", "guarded.example", "app", nil),
		annIngress("open", "open.example", "app", map[string]string{"enable-modsecurity": "false"}),
	))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.ConfigMap = "ingress/moat-config" })
	c := m.client(nil, false)
	if r := get(t, c, "http://guarded.example/?probe=evil"); r.status != 406 {
		t.Errorf("global rule: %d, want the rule's 406", r.status)
	}
	if r := get(t, c, "http://open.example/?probe=evil"); r.status != 200 {
		t.Errorf("opted out: %d", r.status)
	}
	if r := get(t, c, "http://guarded.example/?probe=fine"); r.status != 200 {
		t.Errorf("global, ordinary: %d", r.status)
	}
	writeFile(t, dir, "cm.yaml", cm("SecRuleEngine On\nSecRemoteRules key https://rules.example/crs.conf"))
	eventually(t, 10*time.Second, "the refused ConfigMap snippet to apply", func() bool {
		r, err := do(c, "http://guarded.example/")
		return err == nil && r.status == 503
	})
	seen := n.Load()
	if r := get(t, c, "http://guarded.example/?probe=fine"); r.status != 503 {
		t.Errorf("WAF location after the broken ConfigMap: %d, want 503", r.status)
	}
	if r := get(t, c, "http://open.example/"); r.status != 200 {
		t.Errorf("opted out after the broken ConfigMap: %d", r.status)
	}
	if n.Load() != seen+1 {
		t.Errorf("backend saw %d requests, want 1 (the opted-out location's)", n.Load()-seen)
	}
	// Diagnostics are published just after the configuration is swapped
	// in, so the 503 above may come first.
	var diags string
	eventually(t, 10*time.Second, "the refused snippet in /debug/diagnostics", func() bool {
		diags = m.diagnostics(t)
		return strings.Contains(diags, "data.modsecurity-snippet") && strings.Contains(diags, "SecRemoteRules") && strings.Contains(diags, "moat-config")
	})
}

// TestWAFSnippetDisabled is ingress-nginx's "should enable modsecurity
// through the config map but ignore snippet as disabled by admin": with
// allow-snippet-annotations false and annotations-risk-level Critical, an
// Ingress's modsecurity-snippet is dropped (its blocking rule does not
// run) while the Ingress is served and the ConfigMap's WAF, with the Core
// Rule Set, still guards it; a warning names the dropped annotation.
func TestWAFSnippetDisabled(t *testing.T) {
	dir := t.TempDir()
	be, n := countingBackend(t)
	writeFile(t, dir, "all.yaml", join(
		`apiVersion: v1
kind: ConfigMap
metadata: {name: moat-config, namespace: ingress}
data:
  enable-modsecurity: "true"
  enable-owasp-modsecurity-crs: "true"
  allow-snippet-annotations: "false"
  annotations-risk-level: Critical
  modsecurity-snippet: SecRuleEngine On`,
		service("default", "app", be),
		annIngress("snip", "snip.example", "app", map[string]string{
			"modsecurity-snippet": "SecRuleEngine On\nSecRule REQUEST_HEADERS:User-Agent \"@contains block-ua\" \"id:107,phase:1,log,deny,status:403,msg:'UA blocked'\"",
		}),
	))
	m := startMoat(t, dir, func(c *app.ServeConfig) { c.ConfigMap = "ingress/moat-config" })
	c := m.client(nil, false)

	rq, _ := http.NewRequest("GET", "http://snip.example/", nil)
	rq.Header.Set("User-Agent", "block-ua")
	resp, err := c.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 1 {
		t.Errorf("snippet rule must be ignored: %d, backend saw %d of 1", resp.StatusCode, n.Load())
	}
	sqli := wafCase{"GET", "/?id=" + url.QueryEscape("1' OR '1'='1"), "", ""}
	if got := wafSend(t, c, "snip.example", sqli); got != http.StatusForbidden || n.Load() != 1 {
		t.Errorf("ConfigMap WAF with the Core Rule Set: %d, want 403 (backend saw %d)", got, n.Load())
	}
	diags := m.diagnostics(t)
	for _, want := range []string{"AnnotationSnippetsDisabled", "nginx.ingress.kubernetes.io/modsecurity-snippet", "snip"} {
		if !strings.Contains(diags, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, diags)
		}
	}
}
