// Package registry gathers every family's key table, for the unknown-key
// check, lint and the generated docs.
package registry

import (
	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/rewrite"
	"github.com/moat-ingress/moat/internal/annotations/sslredirect"
)

// Known returns all keys by name (without prefix).
func Known() map[string]annotations.Key {
	m := map[string]annotations.Key{}
	for _, tbl := range [][]annotations.Key{rewrite.Keys, sslredirect.Keys} {
		for _, k := range tbl {
			m[k.Name] = k
		}
	}
	return m
}
