package cluster

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
)

// TestWAF: in cluster mode the WAF keys come through the API and the same
// translate path as in file mode: the ConfigMap enables the Core Rule Set
// in blocking mode, a classic SQL injection gets 403 while ordinary
// requests reach the backend, an Ingress opts out, and one whose snippet
// is refused answers 503 while the others serve on.
func TestWAF(t *testing.T) {
	ns := namespace(t, "waf")
	setConfigMap(t, map[string]string{
		"enable-modsecurity":           "true",
		"enable-owasp-modsecurity-crs": "true",
		"modsecurity-snippet":          "Include /etc/nginx/modsecurity/modsecurity.conf\nSecRuleEngine On",
		"allow-snippet-annotations":    "true",
		"annotations-risk-level":       "Critical",
	})
	ip := backend(t, "web")
	createService(t, ns, "web", ip)
	createIngress(t, ingress(ns, "guarded", "guarded.waf.test", "/", "web", ""))
	open := ingress(ns, "open", "open.waf.test", "/", "web", "")
	open.Annotations = map[string]string{"nginx.ingress.kubernetes.io/enable-modsecurity": "false"}
	createIngress(t, open)
	bad := ingress(ns, "bad", "bad.waf.test", "/", "web", "")
	bad.Annotations = map[string]string{"nginx.ingress.kubernetes.io/modsecurity-snippet": "SecRule ARGS \"@inspectFile /bin/true\" \"id:1,deny\""}
	createIngress(t, bad)
	m := startMoat(t, "moat-waf", nil, ns)
	c := m.client(nil)

	sqli := "/?id=" + url.QueryEscape("1' OR '1'='1")
	eventually(t, 30*time.Second, "the guarded Ingress", serves(c, "http://guarded.waf.test/items?page=2", http.StatusOK, "web", nil))
	if err := serves(c, "http://guarded.waf.test"+sqli, http.StatusForbidden, "", nil)(); err != nil {
		t.Errorf("Core Rule Set: %v", err)
	}
	if err := serves(c, "http://open.waf.test"+sqli, http.StatusOK, "web", nil)(); err != nil {
		t.Errorf("enable-modsecurity false: %v", err)
	}
	if err := serves(c, "http://bad.waf.test/", http.StatusServiceUnavailable, "", nil)(); err != nil {
		t.Errorf("refused snippet: %v", err)
	}
	// Fixing the snippet applies without a restart.
	updateIngress(t, ns, "bad", func(ing *networkingv1.Ingress) {
		ing.Annotations["nginx.ingress.kubernetes.io/modsecurity-snippet"] = "SecRule ARGS:probe \"@streq evil\" \"id:9002,phase:1,deny,status:406\""
	})
	eventually(t, 30*time.Second, "the fixed snippet", serves(c, "http://bad.waf.test/?probe=evil", 406, "", nil))
}
