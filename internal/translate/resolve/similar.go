package resolve

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/store"
)

// SimilarName suggests a same-named object in another namespace or a
// similarly named one in this namespace.
func SimilarName(all []string, ns, name, kind string) string {
	sort.Strings(all)
	var other []string
	best, bestD := "", 4
	for _, nn := range all {
		ons, on, _ := strings.Cut(nn, "/")
		if on == name && ons != ns {
			other = append(other, nn)
			continue
		}
		if ons == ns {
			if d := annotations.EditDistance(on, name); d < bestD {
				best, bestD = on, d
			}
		}
		// A suffix/prefix match catches "router-tls" vs "app-router-tls".
		if best == "" && (strings.HasSuffix(on, name) || strings.HasSuffix(name, on)) && on != name {
			other = append(other, nn)
		}
	}
	var hints []string
	if best != "" {
		hints = append(hints, fmt.Sprintf("did you mean %s %q?", kind, best))
	}
	for _, o := range other {
		ons, _, _ := strings.Cut(o, "/")
		if ons == ns {
			hints = append(hints, fmt.Sprintf("did you mean %s %q?", kind, o[len(ons)+1:]))
		} else {
			hints = append(hints, fmt.Sprintf("%s %s exists in another namespace, but an Ingress can only use %ss of its own namespace (%s)", kind, o, kind, ns))
		}
	}
	return strings.Join(hints, " ")
}

// SecretNames are the snapshot's Secrets, "namespace/name".
func SecretNames(sn *store.Snapshot) []string {
	out := make([]string, 0, len(sn.Secrets))
	for k := range sn.Secrets {
		out = append(out, k)
	}
	return out
}
