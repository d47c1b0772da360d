package nginx_test

import (
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/buffering"
	"github.com/moat-ingress/moat/internal/annotations/errorpages"
	"github.com/moat-ingress/moat/internal/annotations/ipaccess"
	"github.com/moat-ingress/moat/internal/annotations/sslredirect"
	"github.com/moat-ingress/moat/internal/annotations/timeouts"
	"github.com/moat-ingress/moat/internal/controllerconfig"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestAnnotationAndConfigMapAgree: the same value is accepted or refused
// alike whether it is written in an Ingress annotation or in the
// controller ConfigMap, through each side's real parser.
func TestAnnotationAndConfigMapAgree(t *testing.T) {
	obj := diag.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: "x"}
	annotation := map[string]func(*annotations.Reader){
		"proxy-body-size":        func(r *annotations.Reader) { buffering.Parse(r, routecfg.Body{}) },
		"proxy-read-timeout":     func(r *annotations.Reader) { timeouts.Parse(r, routecfg.Timeouts{Connect: 5 * time.Second}) },
		"allowlist-source-range": func(r *annotations.Reader) { ipaccess.Parse(r, nil) },
		"custom-http-errors":     func(r *annotations.Reader) { errorpages.Parse(r) },
		"ssl-redirect":           func(r *annotations.Reader) { sslredirect.Parse(r) },
	}
	for _, c := range []struct {
		annotation, configMap string
		value                 string
		ok                    bool
	}{
		{"proxy-body-size", "proxy-body-size", "1m", true},
		{"proxy-body-size", "proxy-body-size", "8K", true},
		{"proxy-body-size", "proxy-body-size", "2g", true},
		{"proxy-body-size", "proxy-body-size", "0", true},
		{"proxy-body-size", "proxy-body-size", " 5m ", true},
		{"proxy-body-size", "proxy-body-size", "10b", false}, // was accepted as an annotation only
		{"proxy-body-size", "proxy-body-size", "+5", false},  // was accepted in the ConfigMap only
		{"proxy-body-size", "proxy-body-size", "-1", false},
		{"proxy-body-size", "proxy-body-size", "1.5m", false},
		{"proxy-body-size", "proxy-body-size", "1mb", false},
		{"proxy-read-timeout", "proxy-read-timeout", "60", true},
		{"proxy-read-timeout", "proxy-read-timeout", "0", true},
		{"proxy-read-timeout", "proxy-read-timeout", "+5", false},
		{"proxy-read-timeout", "proxy-read-timeout", "60s", false},
		{"proxy-read-timeout", "proxy-read-timeout", "-1", false},
		{"proxy-read-timeout", "proxy-read-timeout", "1.5", false},
		{"allowlist-source-range", "whitelist-source-range", "10.0.0.0/8, ::1", true},
		{"allowlist-source-range", "whitelist-source-range", "192.0.2.7", true},
		{"allowlist-source-range", "whitelist-source-range", "10.0.0.300", false},
		{"allowlist-source-range", "whitelist-source-range", "10.0.0.0/8, nope", false},
		{"custom-http-errors", "custom-http-errors", "404,503", true},
		{"custom-http-errors", "custom-http-errors", "+404", false},
		{"custom-http-errors", "custom-http-errors", "600", false},
		{"custom-http-errors", "custom-http-errors", "abc", false},
		{"ssl-redirect", "ssl-redirect", "false", true},
		{"ssl-redirect", "ssl-redirect", "True", true},
		{"ssl-redirect", "ssl-redirect", " 1 ", true},
		{"ssl-redirect", "ssl-redirect", "on", false},
		{"ssl-redirect", "ssl-redirect", "yes", false},
	} {
		r := annotations.NewReader("", map[string]string{annotations.DefaultPrefix + "/" + c.annotation: c.value}, obj)
		annotation[c.annotation](r)
		annOK := len(r.Diags) == 0
		_, diags := controllerconfig.Parse(map[string]string{c.configMap: c.value}, obj)
		cmOK := true
		for _, d := range diags {
			if d.Severity == diag.Error {
				cmOK = false
			}
		}
		if annOK != c.ok || cmOK != c.ok {
			t.Errorf("%q: annotation %s accepted=%v (%v), ConfigMap %s accepted=%v (%v); want %v",
				c.value, c.annotation, annOK, r.Diags, c.configMap, cmOK, diags, c.ok)
		}
	}
}
