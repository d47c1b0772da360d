package proxyssl

import (
	"crypto/tls"
	"testing"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
)

// TestWithoutSecret: ingress-nginx's parser returns an empty config
// without proxy-ssl-secret, so the other keys change nothing here
// (annotations.CheckNeeds reports them).
func TestWithoutSecret(t *testing.T) {
	r := annotest.Reader("proxy-ssl-verify", "on", "proxy-ssl-name", "x.internal", "proxy-ssl-server-name", "on", "proxy-ssl-protocols", "TLSv1.3")
	c := Parse(r)
	annotest.NoDiags(t, r)
	if c.Set() || c.Denied != "" {
		t.Errorf("%+v", c)
	}
}

func TestParse(t *testing.T) {
	r := annotest.Reader("proxy-ssl-secret", "default/backend", "proxy-ssl-verify", "on", "proxy-ssl-verify-depth", "3",
		"proxy-ssl-name", "x.internal", "proxy-ssl-server-name", "on", "proxy-ssl-protocols", "TLSv1.3", "proxy-ssl-ciphers", "ECDHE-RSA-AES128-GCM-SHA256")
	c := Parse(r)
	annotest.NoDiags(t, r)
	if c.Namespace != "default" || c.Name != "backend" || !c.Verify || c.VerifyDepth != 3 || c.SSLName != "x.internal" || !c.ServerName ||
		c.MinVersion != tls.VersionTLS13 || len(c.CipherSuites) != 1 {
		t.Errorf("%+v", c)
	}
}

func TestParseBad(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"proxy-ssl-verify", "yes"},
		{"proxy-ssl-verify-depth", "deep"},
		{"proxy-ssl-server-name", "true"},
		{"proxy-ssl-protocols", "SSLv3"},
		{"proxy-ssl-ciphers", "NOT-A-CIPHER"},
	} {
		r := annotest.Reader("proxy-ssl-secret", "backend", tc.key, tc.value)
		Parse(r)
		annotest.WantDiag(t, r, tc.key, tc.value, "AnnotationInvalidValue")
	}
	// A malformed Secret reference denies the paths, as ingress-nginx.
	for _, v := range []string{"a/b/c", "/name", "ns/"} {
		r := annotest.Reader("proxy-ssl-secret", v, "proxy-ssl-verify", "on")
		if c := Parse(r); c.Denied == "" || c.Verify {
			t.Errorf("%q: %+v", v, c)
		}
		annotest.WantDiag(t, r, "proxy-ssl-secret", v, "AnnotationInvalidValue")
	}
}
