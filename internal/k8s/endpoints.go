package k8s

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

// decodeEndpoints converts a v1 Endpoints into EndpointSlices, as the
// API server's EndpointSlice mirroring controller does, so that file mode
// accepts either form and translate reads only slices. Each subset gives
// one slice per address family (a slice holds a single AddressType),
// named "<service>-endpoints-<i>".
func decodeEndpoints(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	//lint:ignore SA1019 v1 Endpoints are still what older manifests hold; they are converted to slices here.
	var ep corev1.Endpoints
	if !d.typed(ref, m, &ep) {
		return nil
	}
	defaultNamespace(&ep.Namespace)
	var out []decoded
	for si, ss := range ep.Subsets {
		var ports []discoveryv1.EndpointPort
		for _, p := range ss.Ports {
			if p.Protocol == "" {
				p.Protocol = corev1.ProtocolTCP
			}
			ports = append(ports, discoveryv1.EndpointPort{
				Name:        ptr(p.Name),
				Port:        ptr(p.Port),
				Protocol:    ptr(p.Protocol),
				AppProtocol: p.AppProtocol,
			})
		}
		byFamily := map[discoveryv1.AddressType][]discoveryv1.Endpoint{}
		add := func(field string, addrs []corev1.EndpointAddress, ready bool) {
			for ai, a := range addrs {
				ip, err := netip.ParseAddr(a.IP)
				if err != nil {
					d.add(ref, diag.Error, ReasonInvalidEndpoint, fmt.Sprintf("subsets[%d].%s[%d].ip", si, field, ai),
						fmt.Sprintf("%q is not an IP address; endpoint left out", a.IP), "")
					continue
				}
				fam := discoveryv1.AddressTypeIPv4
				if ip.Unmap().Is6() {
					fam = discoveryv1.AddressTypeIPv6
				}
				e := discoveryv1.Endpoint{
					Addresses:  []string{ip.Unmap().String()},
					Conditions: discoveryv1.EndpointConditions{Ready: ptr(ready)},
					NodeName:   a.NodeName,
					TargetRef:  a.TargetRef,
				}
				if a.Hostname != "" {
					e.Hostname = ptr(a.Hostname)
				}
				byFamily[fam] = append(byFamily[fam], e)
			}
		}
		add("addresses", ss.Addresses, true)
		add("notReadyAddresses", ss.NotReadyAddresses, false)
		for _, fam := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
			eps, ok := byFamily[fam]
			if !ok {
				continue
			}
			labels := make(map[string]string, len(ep.Labels)+1)
			for k, v := range ep.Labels {
				labels[k] = v
			}
			labels[discoveryv1.LabelServiceName] = ep.Name
			out = append(out, decoded{&discoveryv1.EndpointSlice{
				TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
				ObjectMeta: metav1.ObjectMeta{
					Name:              fmt.Sprintf("%s-endpoints-%d", ep.Name, len(out)),
					Namespace:         ep.Namespace,
					Labels:            labels,
					Annotations:       ep.Annotations,
					CreationTimestamp: ep.CreationTimestamp,
				},
				AddressType: fam,
				Endpoints:   eps,
				Ports:       ports,
			}})
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
