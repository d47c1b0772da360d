package certs

import (
	"crypto/tls"
	"testing"
)

// TestHostCipherSuites: a host's ssl-ciphers replace the listener's TLS
// 1.2 suites for its SNI only.
func TestHostCipherSuites(t *testing.T) {
	ca := newBenchCA(t)
	s, cfg, _ := benchServer(t, ca, "a.example", nil)
	cfg.VirtualHosts[0].TLSCipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
	s.Apply(cfg)
	srv := s.Config()
	for _, c := range []struct {
		sni   string
		suite uint16
		ok    bool
	}{
		{"a.example", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true},
		{"a.example", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, false},
		{"other.example", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
	} {
		cli := &tls.Config{ServerName: c.sni, InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{c.suite}}
		_, _, err := tlsHandshake(srv, cli, nil)
		if (err == nil) != c.ok {
			t.Errorf("%s with %s: err %v, want ok %v", c.sni, tls.CipherSuiteName(c.suite), err, c.ok)
		}
	}
}
