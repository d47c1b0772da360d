package upstream

import (
	"crypto/x509"
	"fmt"
	"strings"
)

// matchSANs checks BackendTLSPolicy subjectAltNames: with any set, the
// backend's certificate must carry one of the DNS names (a wildcard in
// the certificate matching as in hostname verification) or one of the
// URIs exactly. With none set it accepts (Name was verified instead).
func matchSANs(leaf *x509.Certificate, dns, uris []string) error {
	if len(dns)+len(uris) == 0 {
		return nil
	}
	for _, d := range dns {
		if strings.HasPrefix(d, "*.") {
			// A wildcard SAN asked for: the certificate must carry it.
			for _, n := range leaf.DNSNames {
				if strings.EqualFold(n, d) {
					return nil
				}
			}
			continue
		}
		if leaf.VerifyHostname(d) == nil {
			return nil
		}
	}
	for _, want := range uris {
		for _, u := range leaf.URIs {
			if u.String() == want {
				return nil
			}
		}
	}
	return fmt.Errorf("backend certificate carries none of the subjectAltNames %s", strings.Join(append(append([]string{}, dns...), uris...), ", "))
}
