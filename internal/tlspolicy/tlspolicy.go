// Package tlspolicy turns nginx's TLS cipher settings (OpenSSL cipher
// names) into Go crypto/tls values for the proxy-ssl-* annotations and
// the ConfigMap; protocol lists are internal/nginx's. It is pure:
// callers turn errors into diagnostics naming their object.
package tlspolicy

import (
	"crypto/tls"
	"strings"
)

// openSSLNames maps OpenSSL cipher names to Go's TLS 1.0–1.2 suites.
var openSSLNames = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

// ParseCiphers reads an OpenSSL cipher list ("A:B:C", also comma or space
// separated). Known names become Go suites in the given order; OpenSSL
// keywords and exclusions (DEFAULT, HIGH, !aNULL, ...) and TLS 1.3 names
// are skipped, since Go's own defaults already exclude what they exclude
// and TLS 1.3 suites are not configurable in Go. A nil result means Go's
// defaults. unsupported lists names Go has no suite for, except the DHE
// suites, which are skipped.
func ParseCiphers(v string) (suites []uint16, unsupported []string) {
	iana := map[string]uint16{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		iana[s.Name] = s.ID
	}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		if id, ok := openSSLNames[f]; ok {
			suites = append(suites, id)
			continue
		}
		if id, ok := iana[f]; ok {
			if id>>8 == 0x13 { // a TLS 1.3 suite
				continue
			}
			suites = append(suites, id)
			continue
		}
		if isKeyword(f) || strings.HasPrefix(f, "TLS_AES_") || strings.HasPrefix(f, "TLS_CHACHA20_") {
			continue
		}
		// Finite-field DHE suites (in ingress-nginx's default list) have
		// no Go implementation; skipping them keeps copied defaults
		// working, as the controller ConfigMap does.
		if strings.HasPrefix(f, "DHE-") || strings.HasPrefix(f, "EDH-") {
			continue
		}
		unsupported = append(unsupported, f)
	}
	return suites, unsupported
}

// isKeyword reports OpenSSL cipher-string keywords and operators.
func isKeyword(f string) bool {
	if f == "" || strings.ContainsAny(f[:1], "!-+@") {
		return true
	}
	return f == strings.ToUpper(f) && !strings.Contains(f, "-") && !strings.Contains(f, "_")
}
