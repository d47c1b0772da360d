package tlspolicy

import (
	"crypto/tls"
	"testing"
)

func TestParseCiphers(t *testing.T) {
	// ingress-nginx's default ssl-ciphers: the DHE suites have no Go
	// equivalent and are skipped; an unknown name is reported.
	s, uns := ParseCiphers("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:RC4-MD5")
	if len(s) != 2 || s[0] != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 || len(uns) != 1 || uns[0] != "RC4-MD5" {
		t.Errorf("got %v %v", s, uns)
	}
	if s, uns := ParseCiphers("HIGH:!aNULL:!MD5"); s != nil || uns != nil {
		t.Errorf("keywords: got %v %v", s, uns)
	}
	if s, _ := ParseCiphers("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256"); len(s) != 1 || s[0] != tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 {
		t.Errorf("IANA names: got %v", s)
	}
}
