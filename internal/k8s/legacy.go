package k8s

import (
	"fmt"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/moat-ingress/moat/internal/diag"
)

// convertIngress converts a legacy (extensions/v1beta1 or
// networking.k8s.io/v1beta1) Ingress to networking.k8s.io/v1 the way the
// API server's conversion does, so that manifests written before 1.22
// (the blog post this project grew from among them) still serve.
func convertIngress(d *decoder, ref diag.ObjectRef, old *networkingv1beta1.Ingress) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{ObjectMeta: old.ObjectMeta}
	ing.APIVersion = "networking.k8s.io/v1"
	ing.Kind = "Ingress"
	ing.Spec.IngressClassName = old.Spec.IngressClassName
	if old.Spec.Backend != nil {
		ing.Spec.DefaultBackend = convertBackend(d, ref, "spec.backend", old.Spec.Backend)
	}
	for _, t := range old.Spec.TLS {
		ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{Hosts: t.Hosts, SecretName: t.SecretName})
	}
	for i, r := range old.Spec.Rules {
		nr := networkingv1.IngressRule{Host: r.Host}
		if r.HTTP != nil {
			nr.HTTP = &networkingv1.HTTPIngressRuleValue{}
			for j, p := range r.HTTP.Paths {
				// The legacy API defaulted a missing pathType to
				// ImplementationSpecific on write.
				pt := networkingv1.PathTypeImplementationSpecific
				if p.PathType != nil {
					pt = networkingv1.PathType(*p.PathType)
				}
				field := fmt.Sprintf("spec.rules[%d].http.paths[%d].backend", i, j)
				nr.HTTP.Paths = append(nr.HTTP.Paths, networkingv1.HTTPIngressPath{
					Path:     p.Path,
					PathType: &pt,
					Backend:  *convertBackend(d, ref, field, &p.Backend),
				})
			}
		}
		ing.Spec.Rules = append(ing.Spec.Rules, nr)
	}
	for _, lb := range old.Status.LoadBalancer.Ingress {
		nlb := networkingv1.IngressLoadBalancerIngress{IP: lb.IP, Hostname: lb.Hostname}
		for _, p := range lb.Ports {
			nlb.Ports = append(nlb.Ports, networkingv1.IngressPortStatus{Port: p.Port, Protocol: p.Protocol, Error: p.Error})
		}
		ing.Status.LoadBalancer.Ingress = append(ing.Status.LoadBalancer.Ingress, nlb)
	}
	return ing
}

// convertBackend maps serviceName/servicePort to service.name and
// service.port.number or .name. A quoted number ("80") would become a
// port name that can never be valid (IANA service names need a letter),
// so it is read as the number, with a warning.
func convertBackend(d *decoder, ref diag.ObjectRef, field string, b *networkingv1beta1.IngressBackend) *networkingv1.IngressBackend {
	nb := &networkingv1.IngressBackend{Resource: b.Resource}
	if b.ServiceName == "" && b.ServicePort == (intstr.IntOrString{}) {
		return nb
	}
	svc := &networkingv1.IngressServiceBackend{Name: b.ServiceName}
	switch {
	case b.ServicePort.Type == intstr.Int:
		svc.Port.Number = b.ServicePort.IntVal
	default:
		if n, err := strconv.ParseInt(b.ServicePort.StrVal, 10, 32); err == nil {
			svc.Port.Number = int32(n)
			d.add(ref, diag.Warning, ReasonQuotedPort, field+".servicePort",
				fmt.Sprintf("servicePort %q is a quoted number; read as port number %d", b.ServicePort.StrVal, n),
				"write the port unquoted, or use a named port")
		} else {
			svc.Port.Name = b.ServicePort.StrVal
		}
	}
	nb.Service = svc
	return nb
}

func convertIngressClass(old *networkingv1beta1.IngressClass) *networkingv1.IngressClass {
	ic := &networkingv1.IngressClass{ObjectMeta: old.ObjectMeta}
	ic.APIVersion = "networking.k8s.io/v1"
	ic.Kind = "IngressClass"
	ic.Spec.Controller = old.Spec.Controller
	if p := old.Spec.Parameters; p != nil {
		ic.Spec.Parameters = &networkingv1.IngressClassParametersReference{
			APIGroup: p.APIGroup, Kind: p.Kind, Name: p.Name, Scope: p.Scope, Namespace: p.Namespace,
		}
	}
	return ic
}
