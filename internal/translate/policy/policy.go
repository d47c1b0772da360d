// Package policy reads an Ingress's annotations, once, into typed values
// (Set): the route policy its routes share, the host-level settings, the
// TLS families, FastCGI and canary settings. It is ingress-nginx's
// Extractor. The passes that build hosts and routes (package ingress)
// only read a Set; none of them parses annotations, and nothing here
// builds a host.
package policy

import (
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/translate/core"
)

// Extractor reads the annotations of one translate's Ingresses. Besides
// the shared state it keeps what spans Ingresses: the compiled WAF
// rules, the traffic defaults, which Ingresses set host-level
// annotations and whether any turns tracing on.
type Extractor struct {
	*core.State
	waf wafState
	// hostAnns are the Ingresses with server-level annotations
	// (hostannotations.go).
	hostAnns map[*networkingv1.Ingress]*HostAnn
	// defaults are the controller-wide route settings (defaults.go).
	defaults *routecfg.TrafficDefaults
	// tracedIngress is set when an Ingress turns tracing on (tracing.go).
	tracedIngress bool
}

// New returns an Extractor over s.
func New(s *core.State) *Extractor { return &Extractor{State: s} }

// HostAnnotated reports whether some Ingress set a server-level
// annotation.
func (t *Extractor) HostAnnotated() bool { return len(t.hostAnns) > 0 }

// AddsHosts reports whether some Ingress adds hosts that no rule names
// (server-alias, from-to-www-redirect).
func (t *Extractor) AddsHosts() bool {
	for _, hh := range t.hostAnns {
		if hh.FromToWWW || len(hh.Aliases) > 0 {
			return true
		}
	}
	return false
}

// SweepWAF lets the WAF cache forget rule sets this translate did not use.
func (t *Extractor) SweepWAF() { t.wafCache().Sweep() }
