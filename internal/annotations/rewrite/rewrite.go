// Package rewrite parses ingress-nginx's rewrite-target and use-regex.
package rewrite

import (
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "rewrite-target", Scope: annotations.ScopeIngress, Risk: "Medium", Status: annotations.Supported,
		Doc: "Replace the whole request URI with the target ($1..$9 from the path regex); an http(s):// target answers 302."},
	{Name: "use-regex", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Treat every path of the host as a case-insensitive regex anchored at the start."},
}

// Config is the parsed family.
type Config struct {
	// Target is "" when unset or empty (an empty target is unset, as in nginx).
	Target string
	// UseRegex is the use-regex annotation.
	UseRegex bool
}

// EnforcesRegex reports whether this Ingress switches its hosts to regex paths.
func (c Config) EnforcesRegex() bool { return c.UseRegex || c.Target != "" }

// Parse reads the family.
func Parse(r *annotations.Reader) Config {
	return Config{
		Target:   strings.TrimSpace(r.String("rewrite-target", "")),
		UseRegex: r.Bool("use-regex", false),
	}
}
