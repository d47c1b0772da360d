// Package tlspolicy turns nginx's TLS settings (OpenSSL protocol and cipher
// names, the controller ConfigMap's ssl-* keys, the proxy-ssl-* annotation
// values) into Go crypto/tls values. It is pure: callers turn the returned
// problems into diagnostics naming their object.
package tlspolicy

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// ParseProtocols reads an nginx protocol list ("TLSv1.2 TLSv1.3") into the
// range Go can serve: Go takes a minimum and a maximum, so a list with a
// gap is widened to cover it. Unsupported names (SSLv2, SSLv3) are returned.
func ParseProtocols(v string) (minV, maxV uint16, unsupported []string, err error) {
	for _, f := range strings.Fields(v) {
		var ver uint16
		switch f {
		case "TLSv1":
			ver = tls.VersionTLS10
		case "TLSv1.1":
			ver = tls.VersionTLS11
		case "TLSv1.2":
			ver = tls.VersionTLS12
		case "TLSv1.3":
			ver = tls.VersionTLS13
		case "SSLv2", "SSLv3":
			unsupported = append(unsupported, f)
			continue
		default:
			return 0, 0, nil, fmt.Errorf("unknown protocol %q (expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)", f)
		}
		if minV == 0 || ver < minV {
			minV = ver
		}
		if ver > maxV {
			maxV = ver
		}
	}
	if minV == 0 {
		return 0, 0, unsupported, fmt.Errorf("no TLS protocol Go supports in %q", v)
	}
	return minV, maxV, unsupported, nil
}

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
// defaults. unsupported lists names Go has no suite for (DHE-*, ...).
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

// Problem is one ConfigMap value moat could not use as written.
type Problem struct {
	Key, Value, Why string
}

// ServerFromConfigMap builds the listener policy from the controller
// ConfigMap's ssl-protocols, ssl-ciphers, ssl-session-tickets and
// ssl-session-timeout; get returns a key's value and whether it is set.
// Bad values keep the default and are returned as problems.
func ServerFromConfigMap(get func(key string) (string, bool)) (*routecfg.ServerTLS, []Problem) {
	p := routecfg.DefaultServerTLS()
	var probs []Problem
	if v, ok := get("ssl-protocols"); ok {
		minV, maxV, uns, err := ParseProtocols(v)
		if err != nil {
			probs = append(probs, Problem{"ssl-protocols", v, err.Error() + "; using TLSv1.2 TLSv1.3"})
		} else {
			p.MinVersion, p.MaxVersion = minV, maxV
			if len(uns) > 0 {
				probs = append(probs, Problem{"ssl-protocols", v, strings.Join(uns, ", ") + " not supported by Go and ignored"})
			}
		}
	}
	if v, ok := get("ssl-ciphers"); ok && strings.TrimSpace(v) != "" {
		suites, uns := ParseCiphers(v)
		if len(suites) > 0 {
			p.CipherSuites = suites
		} else {
			p.CipherSuites = nil
		}
		if len(uns) > 0 {
			probs = append(probs, Problem{"ssl-ciphers", v, "no Go cipher suite for " + strings.Join(uns, ", ") + "; ignored"})
		}
	}
	if v, ok := get("ssl-session-tickets"); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			probs = append(probs, Problem{"ssl-session-tickets", v, "expected true or false"})
		} else {
			p.SessionTickets = b
		}
	}
	if v, ok := get("ssl-session-timeout"); ok {
		d, err := ParseNginxTime(v)
		if err != nil || d <= 0 {
			probs = append(probs, Problem{"ssl-session-timeout", v, "expected an nginx time such as 10m, 1h or 600"})
		} else {
			p.SessionTimeout = d
		}
	}
	return p, probs
}

// ParseNginxTime parses an nginx time value: a number with an optional unit
// (ms, s, m, h, d, w, M, y; no unit means seconds), possibly several
// ("1h 30m").
func ParseNginxTime(v string) (time.Duration, error) {
	s := strings.ReplaceAll(strings.TrimSpace(v), " ", "")
	if s == "" {
		return 0, fmt.Errorf("empty time")
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("%q is not an nginx time", v)
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return 0, err
		}
		s = s[i:]
		unit := time.Second
		switch {
		case strings.HasPrefix(s, "ms"):
			unit, s = time.Millisecond, s[2:]
		case s == "" || s[0] >= '0' && s[0] <= '9':
		default:
			switch s[0] {
			case 's':
			case 'm':
				unit = time.Minute
			case 'h':
				unit = time.Hour
			case 'd':
				unit = 24 * time.Hour
			case 'w':
				unit = 7 * 24 * time.Hour
			case 'M':
				unit = 30 * 24 * time.Hour
			case 'y':
				unit = 365 * 24 * time.Hour
			default:
				return 0, fmt.Errorf("%q is not an nginx time", v)
			}
			s = s[1:]
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}
