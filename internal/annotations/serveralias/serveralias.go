// Package serveralias parses server-alias: more host names for the
// Ingress's hosts.
package serveralias

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/nginx"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "server-alias", Status: annotations.Supported,
		Doc: "Comma-separated extra host names (wildcards allowed) served exactly like the Ingress's hosts, with their certificate when it covers the alias; an alias that another rule already serves is dropped with a diagnostic."},
}

// Parse returns the aliases, lower case.
func Parse(r *annotations.Reader) []string {
	v, ok := r.Raw("server-alias")
	if !ok {
		return nil
	}
	var out []string
	for _, h := range nginx.SplitList(v) {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		var errs []string
		if strings.HasPrefix(h, "*.") {
			errs = validation.IsWildcardDNS1123Subdomain(h)
		} else {
			errs = validation.IsDNS1123Subdomain(h)
		}
		if len(errs) > 0 {
			r.Invalid("server-alias", h, "not a host name: "+strings.Join(errs, "; ")+"; this alias is skipped")
			continue
		}
		out = append(out, h)
	}
	return out
}
