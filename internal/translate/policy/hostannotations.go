package policy

import (
	"fmt"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/redirect"
	"github.com/moat-ingress/moat/internal/annotations/serveralias"
	"github.com/moat-ingress/moat/internal/annotations/snippet"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	networkingv1 "k8s.io/api/networking/v1"
)

// HostAnn is an Ingress's server-level annotations (app-root,
// from-to-www-redirect, server-alias, server-snippet), applied to the
// hosts it names; the oldest Ingress that sets each wins.
type HostAnn struct {
	AppRoot       string
	FromToWWW     bool
	Aliases       []string
	ServerHeaders *routecfg.Headers
}

// hostAnnotations reads the server-level annotations; nil when none is
// set.
func (t *Extractor) hostAnnotations(r *annotations.Reader, ing *networkingv1.Ingress, rd redirect.Config) *HostAnn {
	hh := &HostAnn{AppRoot: rd.AppRoot, FromToWWW: rd.FromToWWW, Aliases: serveralias.Parse(r)}
	if v, ok := r.Raw("server-snippet"); ok {
		h, err := snippet.Parse(v, true)
		if err != nil {
			t.Add(diag.Diagnostic{Object: t.Ref(ing), Severity: diag.Error, Reason: "SnippetRefused", Field: "metadata.annotations." + r.FullKey("server-snippet"),
				Message: fmt.Sprintf("server-snippet is refused: %v; none of it is applied", err)})
		} else {
			hh.ServerHeaders = h
		}
	}
	if hh.AppRoot == "" && !hh.FromToWWW && len(hh.Aliases) == 0 && hh.ServerHeaders == nil {
		return nil
	}
	if t.hostAnns == nil {
		t.hostAnns = map[*networkingv1.Ingress]*HostAnn{}
	}
	t.hostAnns[ing] = hh
	return hh
}
