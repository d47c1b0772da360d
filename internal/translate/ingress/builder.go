// Package ingress builds virtual hosts from claimed Ingresses: rules and
// paths into routes, backends into pools, spec.tls into certificates,
// canaries merged into their main routes and the host-level annotations
// applied, with ingress-nginx's rules for which Ingress wins a conflict.
// It reads annotations only through a policy.Set, and leaves claiming
// Ingresses, the controller ConfigMap and the Gateway API to translate.
package ingress

import (
	"github.com/moat-ingress/moat/internal/translate/core"
	"github.com/moat-ingress/moat/internal/translate/policy"
)

// Builder accumulates the hosts of one translate's Ingresses.
type Builder struct {
	*core.State
	pol      *policy.Extractor
	hosts    map[string]*hostBuilder
	catchAll *hostBuilder
	// pendingCanaries wait until every main route exists (canary.go).
	pendingCanaries []pendingCanary
}

// New returns a Builder over s, reading annotations with pol.
func New(s *core.State, pol *policy.Extractor) *Builder {
	return &Builder{State: s, pol: pol, hosts: map[string]*hostBuilder{}}
}

// HostTaken reports whether an Ingress serves host name ("" for the
// catch-all).
func (t *Builder) HostTaken(name string) bool {
	if name == "" {
		return t.catchAll != nil
	}
	_, ok := t.hosts[name]
	return ok
}

// Shared reports whether the Ingresses built so far touch what other
// Ingresses could share: the catch-all host or a canary.
func (t *Builder) Shared() bool { return t.catchAll != nil || len(t.pendingCanaries) > 0 }
