// Package registry gathers every family's key table, for the unknown-key
// check, lint and the generated docs/annotations.md.
package registry

import (
	"sync"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/affinity"
	"github.com/moat-ingress/moat/internal/annotations/authexternal"
	"github.com/moat-ingress/moat/internal/annotations/authtls"
	"github.com/moat-ingress/moat/internal/annotations/backendprotocol"
	"github.com/moat-ingress/moat/internal/annotations/balance"
	"github.com/moat-ingress/moat/internal/annotations/buffering"
	"github.com/moat-ingress/moat/internal/annotations/canary"
	"github.com/moat-ingress/moat/internal/annotations/errorpages"
	"github.com/moat-ingress/moat/internal/annotations/fastcgi"
	"github.com/moat-ingress/moat/internal/annotations/ipaccess"
	"github.com/moat-ingress/moat/internal/annotations/modsecurity"
	"github.com/moat-ingress/moat/internal/annotations/opentelemetry"
	"github.com/moat-ingress/moat/internal/annotations/passthrough"
	"github.com/moat-ingress/moat/internal/annotations/proxyssl"
	"github.com/moat-ingress/moat/internal/annotations/ratelimit"
	"github.com/moat-ingress/moat/internal/annotations/redirect"
	"github.com/moat-ingress/moat/internal/annotations/rewrite"
	"github.com/moat-ingress/moat/internal/annotations/serveralias"
	"github.com/moat-ingress/moat/internal/annotations/snippet"
	"github.com/moat-ingress/moat/internal/annotations/sslciphers"
	"github.com/moat-ingress/moat/internal/annotations/sslredirect"
	"github.com/moat-ingress/moat/internal/annotations/timeouts"
	"github.com/moat-ingress/moat/internal/annotations/unsupported"
	"github.com/moat-ingress/moat/internal/feature/all"
)

// Family is one annotation family's table.
type Family struct {
	// Package is the Go package under internal/annotations, or
	// feature/NAME for a feature folder.
	Package string
	Keys    []annotations.Key
}

// Families lists every table: the families still under
// internal/annotations, then the feature folders of feature/all (a new
// feature is listed there, not here).
func Families() []Family {
	out := []Family{
		{"rewrite", rewrite.Keys},
		{"canary", canary.Keys},
		{"affinity", affinity.Keys},
		{"balance", balance.Keys},
		{"ratelimit", ratelimit.Keys},
		{"buffering", buffering.Keys},
		{"timeouts", timeouts.Keys},
		{"authtls", authtls.Keys},
		{"backendprotocol", backendprotocol.Keys},
		{"fastcgi", fastcgi.Keys},
		{"proxyssl", proxyssl.Keys},
		{"passthrough", passthrough.Keys},
		{"sslciphers", sslciphers.Keys},
		{"sslredirect", sslredirect.Keys},
		{"redirect", redirect.Keys},
		{"ipaccess", ipaccess.Keys},
		{"authexternal", authexternal.Keys},
		{"errorpages", errorpages.Keys},
		{"serveralias", serveralias.Keys},
		{"opentelemetry", opentelemetry.Keys},
		{"snippet", snippet.Keys},
		{"modsecurity", modsecurity.Keys},
		{"unsupported", unsupported.Keys},
	}
	for _, f := range all.List() {
		out = append(out, Family{"feature/" + f.Name, f.Keys})
	}
	return out
}

// notYet is the Doc of catalogue keys that no family claims yet.
const notYet = "Not implemented in moat yet."

// known is built once: the tables are constant.
var known = sync.OnceValue(func() map[string]annotations.Key {
	m := make(map[string]annotations.Key, len(annotations.Catalogue)+len(annotations.Aliases))
	for _, e := range annotations.Catalogue {
		m[e.Name] = annotations.Key{Name: e.Name, Scope: e.Scope, Risk: e.Risk, Status: annotations.Refused, Doc: notYet}
	}
	for alias, key := range annotations.Aliases {
		m[alias] = annotations.Key{Name: alias, AliasOf: key, Status: annotations.Refused, Doc: notYet}
	}
	for _, f := range Families() {
		for _, k := range f.Keys {
			if c, ok := m[k.Name]; ok {
				// The catalogue is the authority for risk and scope.
				if k.Risk == "" {
					k.Risk = c.Risk
				}
				if k.Scope == "" {
					k.Scope = c.Scope
				}
				if k.AliasOf == "" {
					k.AliasOf = c.AliasOf
				}
			}
			m[k.Name] = k
		}
	}
	return m
})

// Known returns all keys by name (without prefix): the catalogue, with
// each family's entry in place of the default. The map is shared; do not
// modify it.
func Known() map[string]annotations.Key { return known() }
