// Package authbasic parses auth-type basic and its Secret reference, and
// checks htpasswd hashes (bcrypt, {SHA}, $apr1$ and $1$ MD5-crypt).
package authbasic

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/htpasswd"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "auth-type", Status: annotations.Supported,
		Doc: "basic: HTTP basic authentication from auth-secret; wrong or missing credentials get 401 with WWW-Authenticate. digest is refused (the paths are denied, 503)."},
	{Name: "auth-secret", Needs: annotations.Requires("auth-type", "AuthTypeMissing"), Status: annotations.Supported,
		Doc: "Secret with the users: name or namespace/name, but only in the Ingress's namespace. A missing or unusable Secret denies the paths (503), as ingress-nginx."},
	{Name: "auth-secret-type", Needs: annotations.Requires("auth-type", "AuthTypeMissing"), Status: annotations.Supported,
		Doc: "auth-file (default: htpasswd lines in the key auth) or auth-map (one key per user, the value its hash). Hashes: bcrypt, {SHA}, $apr1$, $1$; plain text is refused."},
	{Name: "auth-realm", Needs: annotations.Requires("auth-type", "AuthTypeMissing"), Status: annotations.Supported,
		Doc: "Realm in WWW-Authenticate: Basic realm=\"...\"."},
}

// Config is the parsed family.
type Config struct {
	Enabled bool
	// Namespace and Name of the Secret; Namespace "" is the Ingress's.
	Namespace, Name string
	Map             bool
	Realm           string
	// Denied is set when the family is on but unusable.
	Denied string
}

// Parse reads the family.
func Parse(r *annotations.Reader) Config {
	typ, ok := r.Raw("auth-type")
	if !ok {
		return Config{}
	}
	c := Config{Enabled: true, Realm: r.String("auth-realm", "")}
	switch strings.TrimSpace(typ) {
	case "basic":
	case "digest":
		r.Invalid("auth-type", typ, "digest authentication is not supported by moat; the paths are denied (503)")
		c.Denied = "auth-type digest"
		return c
	default:
		r.Invalid("auth-type", typ, "expected basic or digest; the paths are denied (503)")
		c.Denied = "invalid auth-type"
		return c
	}
	c.Map = r.OneOf("auth-secret-type", "auth-file", "auth-file", "auth-map") == "auth-map"
	s := r.String("auth-secret", "")
	if s == "" {
		c.Denied = "auth-secret missing"
		r.Diags = append(r.Diags, r.Missing("auth-secret", "auth-type basic needs auth-secret; the paths are denied (503)"))
		return c
	}
	if ns, n, ok := strings.Cut(s, "/"); ok {
		c.Namespace, c.Name = ns, n
	} else {
		c.Name = s
	}
	return c
}

// ParseFile reads htpasswd lines ("user:hash"); it returns the users and a
// message per unusable line.
func ParseFile(data string) (map[string]string, []string) {
	users := map[string]string{}
	var bad []string
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, h, ok := strings.Cut(line, ":")
		if !ok || u == "" {
			bad = append(bad, fmt.Sprintf("line %d is not user:hash", i+1))
			continue
		}
		if err := CheckHash(h); err != nil {
			bad = append(bad, fmt.Sprintf("line %d (user %q): %v", i+1, u, err))
			continue
		}
		users[u] = h
	}
	return users, bad
}

// CheckHash accepts the hash formats moat verifies.
func CheckHash(h string) error {
	switch {
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		if len(h) != 60 {
			return fmt.Errorf("malformed bcrypt hash")
		}
		if c, err := bcrypt.Cost([]byte(h)); err != nil || c > htpasswd.MaxBcryptCost {
			return fmt.Errorf("bcrypt cost above %d (htpasswd's maximum): each request would spend seconds or more hashing", htpasswd.MaxBcryptCost)
		}
	case strings.HasPrefix(h, "{SHA}"):
		if len(h) != len("{SHA}")+28 {
			return fmt.Errorf("malformed {SHA} hash")
		}
	case strings.HasPrefix(h, "$apr1$"), strings.HasPrefix(h, "$1$"):
		parts := strings.Split(h, "$")
		if len(parts) != 4 || len(parts[3]) != 22 {
			return fmt.Errorf("malformed MD5-crypt hash")
		}
	case strings.HasPrefix(h, "$5$"), strings.HasPrefix(h, "$6$"):
		return fmt.Errorf("SHA-crypt hashes are not supported; use htpasswd -B (bcrypt)")
	default:
		return fmt.Errorf("plain-text or crypt(3) DES passwords are refused; use htpasswd -B (bcrypt)")
	}
	return nil
}
