package metrics

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestCertificatesDefaultFallback: a TLS host that fell back is labelled
// with the --default-ssl-certificate Secret it is served; hosts without
// TLS and the generated default certificate have no series.
func TestCertificatesDefaultFallback(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	def := &routecfg.Certificate{Ref: "infra/default", Cert: &tls.Certificate{Leaf: &x509.Certificate{NotAfter: time.Unix(1900000000, 0)}}}
	m.SetCertificates(&routecfg.Config{
		VirtualHosts:       []*routecfg.VirtualHost{{Host: "fallback.com", TLS: true}, {Host: "plain.com"}},
		DefaultCertificate: def,
	})
	got := strings.Join(gather(t, reg), "\n")
	if !strings.Contains(got, "nginx_ingress_controller_ssl_expire_time_seconds{class=,host=fallback.com,identifier=,namespace=infra,secret_name=default} 1900000000") || strings.Contains(got, "plain.com") {
		t.Errorf("got:\n%s", got)
	}
	m.SetCertificates(&routecfg.Config{VirtualHosts: []*routecfg.VirtualHost{{Host: "fallback.com", TLS: true}}})
	if got := strings.Join(gather(t, reg), "\n"); strings.Contains(got, "fallback.com") {
		t.Errorf("generated default certificate has a series:\n%s", got)
	}
}
