package admin

import (
	"crypto/x509"
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// HostCertificate is one row of /debug/certs: what a host's HTTPS clients
// are served and why.
type HostCertificate struct {
	Host string `json:"host"`
	// TLS is whether an Ingress lists the host in spec.tls.
	TLS bool `json:"tls"`
	// Secret is "namespace/name", or "" for the default certificate.
	Secret string `json:"secret,omitempty"`
	// Default is true when the host is served the default certificate.
	Default bool `json:"default"`
	// DefaultReason says why a host with TLS fell back to the default.
	DefaultReason string    `json:"defaultReason,omitempty"`
	Subject       string    `json:"subject,omitempty"`
	Issuer        string    `json:"issuer,omitempty"`
	SANs          []string  `json:"sans,omitempty"`
	NotBefore     time.Time `json:"notBefore,omitzero"`
	NotAfter      time.Time `json:"notAfter,omitzero"`
	// ClientAuth is "mode secret" for hosts with auth-tls-*.
	ClientAuth string `json:"clientAuth,omitempty"`
	// Passthrough is the pool a passthrough host's TLS goes to unopened.
	Passthrough string `json:"passthrough,omitempty"`
}

// CertificateReport lists every host of cfg with its certificate, sorted
// by host. Hosts on the default certificate show the configured default
// (--default-ssl-certificate) when there is one; otherwise the generated
// one, whose details the config does not hold.
func CertificateReport(cfg *routecfg.Config) []HostCertificate {
	// Never nil: JSON clients get [] for no hosts, not null.
	out := []HostCertificate{}
	if cfg == nil {
		return out
	}
	for _, vh := range cfg.VirtualHosts {
		if vh == nil {
			continue
		}
		row := HostCertificate{Host: vh.Host, TLS: vh.TLS, DefaultReason: vh.CertificateNote}
		c := cfg.Certificates[vh.Certificate]
		if vh.Certificate == "" || c == nil {
			row.Default = true
			c = cfg.DefaultCertificate
		}
		if c != nil && c.Cert != nil && c.Cert.Leaf != nil {
			row.Secret = c.Ref
			describe(&row, c.Cert.Leaf)
		}
		if ca := vh.ClientAuth; ca != nil {
			row.ClientAuth = ca.Mode.String() + " " + ca.Secret
			if ca.Error != "" {
				row.ClientAuth += " (refusing: " + ca.Error + ")"
			}
		}
		if vh.Passthrough != nil {
			row.Passthrough = vh.Passthrough.Pool
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out
}

func describe(row *HostCertificate, leaf *x509.Certificate) {
	row.Subject = leaf.Subject.String()
	row.Issuer = leaf.Issuer.String()
	row.SANs = append(row.SANs, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		row.SANs = append(row.SANs, ip.String())
	}
	row.NotBefore, row.NotAfter = leaf.NotBefore.UTC(), leaf.NotAfter.UTC()
}

func (s *Server) certs(w http.ResponseWriter, _ *http.Request) {
	r := s.last.Load()
	if r == nil {
		http.Error(w, "no configuration yet", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(CertificateReport(r.Config))
}
