package lint

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

// The migration report gathers every finding about the certificates the
// cluster's TLS Secrets hold into one "certificate health" section,
// instead of scattering them over the Ingresses and "other objects":
// weak keys and signatures, expired, soon expiring or not yet valid
// certificates, certificates not covering the hosts that use them, keys
// that do not match, chains out of order, Secrets that do not load. The
// checks themselves are translate's (tls.go, cert_health.go), the same
// that moat serve and moat lint run; this only groups their output.

// certificateReasons are the codes that belong to certificate health.
var certificateReasons = map[string]bool{
	"TLSCertificateWeakKey":       true,
	"TLSCertificateWeakSignature": true,
	"TLSCertificateExpired":       true,
	"TLSCertificateExpiringSoon":  true,
	"TLSCertificateNotYetValid":   true,
	"TLSCertificateHostMismatch":  true,
	"TLSCertificateChainOrder":    true,
	"TLSKeyMismatch":              true,
	"TLSSecretInvalid":            true,
	"DefaultCertificateInvalid":   true,
}

// IsCertificateHealth reports whether a diagnostic is about a
// certificate's health.
func IsCertificateHealth(d diag.Diagnostic) bool { return certificateReasons[d.Reason] }

// CertificateHealth is the report's certificate section.
type CertificateHealth struct {
	// TLSSecrets counts the kubernetes.io/tls Secrets read.
	TLSSecrets int `json:"tlsSecrets"`
	// Findings are the diagnostics, each once, in diagnostic order.
	Findings []diag.Diagnostic `json:"findings"`
}

// tlsSecrets counts the TLS Secrets of the snapshot.
func (r *Result) tlsSecrets() int {
	n := 0
	if r.snapshot == nil {
		return 0
	}
	for _, s := range r.snapshot.Secrets {
		if s.Type == corev1.SecretTypeTLS {
			n++
		}
	}
	return n
}

// writeHealth prints the certificate section.
func writeHealth(b *strings.Builder, h CertificateHealth) {
	if len(h.Findings) == 0 {
		fmt.Fprintf(b, "certificate health: no problems in %s\n\n", plural(h.TLSSecrets, "TLS Secret"))
		return
	}
	fmt.Fprintf(b, "certificate health (%s, %s):\n", plural(h.TLSSecrets, "TLS Secret"), plural(len(h.Findings), "finding"))
	for _, d := range h.Findings {
		writeClusterDiag(b, "  ", d, true)
	}
	b.WriteString("\n")
}
