package resolve

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
)

// UpdateEndpoints is translate.Translate for an endpoint-only change: sn
// must differ from the snapshot cfg was translated from only in the
// EndpointSlices of services ("namespace/name"). It recomputes the endpoints of the pools
// that read those slices, with the same function Translate uses, and
// returns a config sharing everything else with cfg, and the keys of the
// pools whose endpoints changed. The diagnostics are Translate's for cfg.
//
// ok is false when the result could differ from Translate(sn) in more than
// pool endpoints, and the caller must translate: a pool gaining its first
// or losing its last endpoint changes diagnostics (NoReadyEndpoints) and
// custom-error fallbacks.
func UpdateEndpoints(cfg *routecfg.Config, sn *store.Snapshot, services map[string]bool) (next *routecfg.Config, changed []string, ok bool) {
	// By namespace and name, so that the walk over every pool allocates
	// nothing.
	want := make(map[[2]string]bool, len(services))
	for s := range services {
		if ns, name, ok := strings.Cut(s, "/"); ok {
			want[[2]string{ns, name}] = true
		}
	}
	var pools map[string]*routecfg.Pool
	for key, p := range cfg.Pools {
		if p == nil || !want[[2]string{p.Namespace, p.Service}] {
			continue
		}
		svc := sn.Services[p.Namespace+"/"+p.Service]
		if svc == nil {
			return nil, nil, false
		}
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue // the external name, not slices
		}
		// The key is backendRoute's: "ns/svc:port", then suffixes for
		// service-upstream, protocol and the like, each starting with a
		// character a port name or number cannot hold.
		rest, found := strings.CutPrefix(key, p.Namespace+"/"+p.Service+":")
		if !found {
			return nil, nil, false
		}
		port := rest
		if i := strings.IndexFunc(rest, func(r rune) bool {
			return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-'
		}); i >= 0 {
			port = rest[:i]
		}
		if strings.Contains(rest, ClusterIPSuffix) && svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
			continue // service-upstream: the cluster IP, not slices
		}
		sp := servicePort(svc, port)
		if sp == nil {
			return nil, nil, false
		}
		eps := ReadyEndpoints(sn.EndpointSlices[svc.Namespace+"/"+svc.Name], sp)
		if (len(eps) == 0) != (len(p.Endpoints) == 0) {
			return nil, nil, false
		}
		if slices.Equal(eps, p.Endpoints) {
			continue
		}
		if pools == nil {
			pools = maps.Clone(cfg.Pools)
		}
		np := *p
		np.Endpoints = eps
		pools[key] = &np
		changed = append(changed, key)
	}
	if pools == nil {
		return cfg, nil, true
	}
	c := *cfg
	c.Pools = pools
	slices.Sort(changed)
	return &c, changed, true
}

// servicePort finds a backend's port in the Service: by name, or by number
// when the backend gives a number (port names always hold a letter).
func servicePort(svc *corev1.Service, port string) *corev1.ServicePort {
	num, err := strconv.Atoi(port)
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if (err != nil && p.Name == port) || (err == nil && p.Port == int32(num)) {
			return p
		}
	}
	return nil
}

// ClusterIPSuffix keys service-upstream pools apart from endpoint pools of
// the same Service port.
const ClusterIPSuffix = "|cluster-ip"
