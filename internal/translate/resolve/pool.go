// Package resolve turns the objects an Ingress or a Gateway API route
// names into what the data plane dials: a Service port into a pool of
// ready endpoints (also for an endpoint-only change, UpdateEndpoints),
// with a hint naming a similar object when one is missing. It reads the
// snapshot only and builds no routes, so the Ingress passes, the streams
// and the Gateway API adapter share one resolution.
package resolve

import (
	"fmt"
	"net"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
)

// Pool builds the endpoints of one Service port of namespace ns, for the
// object ref (an Ingress: its own namespace, as a backend names no other;
// a Gateway API route: the namespace its backendRef names).
func Pool(sn *store.Snapshot, ref diag.ObjectRef, ns string, sb *networkingv1.IngressServiceBackend, key, field string) (*routecfg.Pool, *diag.Diagnostic) {
	svc, ok := sn.Services[ns+"/"+sb.Name]
	if !ok {
		d := diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "ServiceNotFound", Field: field + ".service.name",
			Message: fmt.Sprintf("service %q not found in namespace %s; answered with 503", sb.Name, ns)}
		if hint := SimilarName(ServiceNames(sn), ns, sb.Name, "Service"); hint != "" {
			d.Hint = hint
		}
		return nil, &d
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if (sb.Port.Name != "" && p.Name == sb.Port.Name) || (sb.Port.Name == "" && p.Port == sb.Port.Number) {
			sp = p
			break
		}
	}
	if sp == nil {
		want := sb.Port.Name
		if want == "" {
			want = strconv.Itoa(int(sb.Port.Number))
		}
		return nil, &diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "ServicePortNotFound", Field: field + ".service.port",
			Message: fmt.Sprintf("service %s/%s has no port %s (ports: %s); answered with 503", svc.Namespace, svc.Name, want, PortList(svc))}
	}
	pool := &routecfg.Pool{Key: key, Namespace: svc.Namespace, Service: svc.Name}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if svc.Spec.ExternalName == "" {
			return nil, &diag.Diagnostic{Object: sn.Ref("Service", svc.Namespace, svc.Name), Severity: diag.Error, Reason: "ExternalNameEmpty",
				Field: "spec.externalName", Message: "ExternalName service has no spec.externalName; answered with 503"}
		}
		pool.Endpoints = []routecfg.Endpoint{{Address: net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(sp.Port)))}}
		return pool, nil
	}
	pool.Endpoints = ReadyEndpoints(sn.EndpointSlices[svc.Namespace+"/"+svc.Name], sp)
	if len(pool.Endpoints) == 0 {
		return pool, &diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: "NoReadyEndpoints", Field: field + ".service",
			Message: fmt.Sprintf("service %s/%s port %d has no ready endpoints; answered with 503", svc.Namespace, svc.Name, sp.Port)}
	}
	return pool, nil
}

// ReadyEndpoints resolves the Service port's targetPort through the
// EndpointSlices: a slice port carries the Service port's name, which is
// how kube-proxy resolves named targetPorts too.
func ReadyEndpoints(slices []*discoveryv1.EndpointSlice, sp *corev1.ServicePort) []routecfg.Endpoint {
	seen := map[string]bool{}
	var out []routecfg.Endpoint
	for _, s := range slices {
		var port int32 = -1
		for _, p := range s.Ports {
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			if name == sp.Name && p.Port != nil {
				port = *p.Port
				break
			}
		}
		if port < 0 {
			// A slice without ports information: a numeric targetPort
			// (or the port itself) is the best remaining guess.
			if len(s.Ports) > 0 {
				continue
			}
			switch {
			case sp.TargetPort.IntVal != 0:
				port = sp.TargetPort.IntVal
			case sp.TargetPort.StrVal == "":
				port = sp.Port
			default:
				continue
			}
		}
		for _, ep := range s.Endpoints {
			// Ready nil means ready (EndpointConditions doc); terminating
			// endpoints are left out even when still serving.
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				addr := net.JoinHostPort(a, strconv.Itoa(int(port)))
				if !seen[addr] {
					seen[addr] = true
					out = append(out, routecfg.Endpoint{Address: addr})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// PortList lists a Service's ports for messages.
func PortList(svc *corev1.Service) string {
	s := ""
	for i, p := range svc.Spec.Ports {
		if i > 0 {
			s += ", "
		}
		s += strconv.Itoa(int(p.Port))
		if p.Name != "" {
			s += " (" + p.Name + ")"
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// ServiceNames are the snapshot's Services, "namespace/name".
func ServiceNames(sn *store.Snapshot) []string {
	out := make([]string, 0, len(sn.Services))
	for k := range sn.Services {
		out = append(out, k)
	}
	return out
}
