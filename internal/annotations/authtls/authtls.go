// Package authtls parses ingress-nginx's client-certificate (mTLS)
// annotations, auth-tls-*. They apply to the whole host (nginx's server
// block): the oldest Ingress of a host that sets auth-tls-secret wins.
package authtls

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "auth-tls-secret", Status: annotations.Supported,
		Doc: "Secret (namespace/name, same namespace only) whose ca.crt verifies client certificates for the host (optional ca.crl: revocation); a missing or bad Secret makes the host answer 403."},
	{Name: "auth-tls-verify-client", Needs: annotations.Requires("auth-tls-secret", "AuthTLSSecretMissing"), Status: annotations.Supported,
		Doc: "on (default: 400 without a valid certificate), optional (400 only for a bad one), optional_no_ca (not verified, passed on) or off."},
	{Name: "auth-tls-verify-depth", Needs: annotations.Requires("auth-tls-secret", "AuthTLSSecretMissing"), Status: annotations.Supported,
		Doc: "Most intermediate CAs between the client certificate and ca.crt (default 1)."},
	{Name: "auth-tls-error-page", Needs: annotations.Requires("auth-tls-secret", "AuthTLSSecretMissing"), Status: annotations.Supported,
		Doc: "URL a failed verification redirects to (302) instead of answering 400."},
	{Name: "auth-tls-pass-certificate-to-upstream", Needs: annotations.Requires("auth-tls-secret", "AuthTLSSecretMissing"), Status: annotations.Supported,
		Doc: "Send the client certificate upstream URL-encoded in ssl-client-cert."},
	{Name: "auth-tls-match-cn", Needs: annotations.Requires("auth-tls-secret", "AuthTLSSecretMissing"), Status: annotations.Supported,
		Doc: "Regex (starting CN=) the client subject DN must match, else 403."},
}

// Config is the parsed family; nil from Parse when auth-tls-secret is unset
// or verify-client is off.
type Config struct {
	// Namespace is empty when the value names no namespace.
	Namespace, Name string
	// Mode is on, optional or optional_no_ca.
	Mode        string
	VerifyDepth int
	ErrorPage   string
	PassCert    bool
	MatchCN     *regexp.Regexp
}

// matchCNRe is ingress-nginx's validator for auth-tls-match-cn.
var matchCNRe = regexp.MustCompile(`^CN=(.*)$`)

// Parse reads the family with ingress-nginx's defaults. Without
// auth-tls-secret the other keys do nothing, as in ingress-nginx.
func Parse(r *annotations.Reader) *Config {
	v, ok := r.Raw("auth-tls-secret")
	if !ok {
		return nil
	}
	v = strings.TrimSpace(v)
	c := &Config{}
	if ns, n, found := strings.Cut(v, "/"); found {
		c.Namespace, c.Name = ns, n
	} else {
		c.Name = v
	}
	if c.Name == "" || strings.Contains(c.Name, "/") || (strings.Contains(v, "/") && c.Namespace == "") {
		r.Invalid("auth-tls-secret", v, "expected namespace/name of a Secret holding ca.crt")
		return nil
	}
	c.Mode = r.OneOf("auth-tls-verify-client", "on", "on", "off", "optional", "optional_no_ca")
	if c.Mode == "off" {
		return nil
	}
	// ingress-nginx turns 0 into its default 1 as well.
	c.VerifyDepth = r.Int("auth-tls-verify-depth", 1, 0, 100)
	if c.VerifyDepth == 0 {
		c.VerifyDepth = 1
	}
	if p := r.String("auth-tls-error-page", ""); p != "" {
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.Invalid("auth-tls-error-page", p, "expected an absolute http(s) URL")
		} else {
			c.ErrorPage = p
		}
	}
	c.PassCert = r.Bool("auth-tls-pass-certificate-to-upstream", false)
	if m := r.String("auth-tls-match-cn", ""); m != "" {
		re, err := regexp.Compile(m)
		switch {
		case !matchCNRe.MatchString(m):
			r.Invalid("auth-tls-match-cn", m, "expected a regex starting with CN=")
		case err != nil:
			r.Invalid("auth-tls-match-cn", m, "not a valid regex: "+err.Error())
		default:
			c.MatchCN = re
		}
	}
	return c
}
