package lint

import (
	"fmt"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/lint/locate"
	"github.com/moat-ingress/moat/internal/store"
)

// What lint judges differently from serve, so that it can gate a
// repository's CI: a repository holds what is applied, not what the
// cluster adds later (Secrets that cert-manager issues, EndpointSlices),
// and the API server refuses some things serve tolerates in files.

// Reasons produced by the gate.
const (
	// ReasonIngressNotServed: the class moat runs with leaves the Ingress
	// alone.
	ReasonIngressNotServed = "IngressNotServed"
	// ReasonIngressClassUnclaimed: spec.ingressClassName names an
	// IngressClass that does not exist, so no controller serves it.
	ReasonIngressClassUnclaimed = "IngressClassUnclaimed"
	// ReasonTLSSecretFromCertManager replaces TLSSecretNotFound when
	// cert-manager will create the Secret.
	ReasonTLSSecretFromCertManager = "TLSSecretFromCertManager"
)

// cert-manager's ingress-shim issues a certificate for every tls entry of
// an Ingress carrying one of these annotations (kubernetes.io/tls-acme with
// its default issuer).
var certManagerAnnotations = []string{"cert-manager.io/cluster-issuer", "cert-manager.io/issuer", "kubernetes.io/tls-acme"}

// gate rewrites translate's diagnostics for lint. certs maps
// "namespace/secretName" of cert-manager Certificates in the input to the
// Certificate's "namespace/name".
func gate(ds []diag.Diagnostic, sn *store.Snapshot, certs map[string]string) []diag.Diagnostic {
	endpointsGiven := len(sn.EndpointSlices) > 0
	ings := map[string]*networkingv1.Ingress{}
	for _, ing := range sn.Ingresses {
		ings[ing.Namespace+"/"+ing.Name] = ing
	}
	out := ds[:0]
	for _, d := range ds {
		switch d.Reason {
		case "NoReadyEndpoints", "DefaultBackendNoEndpoints":
			// Without any EndpointSlice or Endpoints in the input the
			// endpoints are the cluster's business: nothing to judge.
			if !endpointsGiven {
				continue
			}
		case "PathTypeMissing":
			// Only networking.k8s.io/v1 gets here (legacy Ingresses are
			// defaulted on conversion), and the API server rejects it.
			d.Severity = diag.Error
			d.Message = "pathType is required in networking.k8s.io/v1: the API server rejects this Ingress (moat serve would read the path as ImplementationSpecific)"
		case "TLSSecretNotFound":
			if d.Object.Kind == store.KindIngress {
				if why := certManagerIssues(ings[d.Object.Namespace+"/"+d.Object.Name], d.Field, certs); why != "" {
					d.Severity = diag.Info
					d.Reason = ReasonTLSSecretFromCertManager
					d.Message = why
					d.Hint = ""
				}
			}
		}
		out = append(out, d)
	}
	return out
}

// certManagerIssues explains who creates the Secret that the tls entry at
// field names, or returns "".
func certManagerIssues(ing *networkingv1.Ingress, field string, certs map[string]string) string {
	if ing == nil {
		return ""
	}
	var i int
	if _, err := fmt.Sscanf(field, "spec.tls[%d].secretName", &i); err != nil || i < 0 || i >= len(ing.Spec.TLS) {
		return ""
	}
	name := ing.Spec.TLS[i].SecretName
	if c, ok := certs[ing.Namespace+"/"+name]; ok {
		return fmt.Sprintf("tls secret %q is not in the input: cert-manager creates it for Certificate %s; until it exists its hosts get the default certificate", name, c)
	}
	for _, a := range certManagerAnnotations {
		v, ok := ing.Annotations[a]
		if !ok || a == "kubernetes.io/tls-acme" && v != "true" {
			continue
		}
		return fmt.Sprintf("tls secret %q is not in the input: cert-manager creates it (annotation %s: %s); until it exists its hosts get the default certificate", name, a, v)
	}
	return ""
}

// certificatesIn finds cert-manager Certificates in the files read (moat
// does not decode them) and maps "namespace/spec.secretName" to the
// Certificate's "namespace/name".
func certificatesIn(sources map[string][]byte) map[string]string {
	out := map[string]string{}
	names := make([]string, 0, len(sources))
	for f := range sources {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		for _, o := range locate.Objects(sources[f]) {
			if o.Kind != "Certificate" || !strings.HasPrefix(locate.Scalar(o.Node, "apiVersion"), "cert-manager.io/") {
				continue
			}
			spec := locate.Child(o.Node, "spec")
			if spec == nil {
				continue
			}
			secret := locate.Scalar(spec, "secretName")
			ns := o.Namespace
			if ns == "" {
				ns = "default"
			}
			if secret != "" {
				out[ns+"/"+secret] = ns + "/" + o.Name
			}
		}
	}
	return out
}

// unserved reports each Ingress that moat, run with the served class
// options, leaves alone, naming its class: the Ingresses of ingress-nginx
// ("nginx") are the usual case, and serve only says so at info level.
func unserved(sn *store.Snapshot, claimed map[string]bool, opts Options, served string) []diag.Diagnostic {
	var out []diag.Diagnostic
	controller := opts.ControllerClass
	for _, ing := range sn.Ingresses {
		if claimed[ing.Namespace+"/"+ing.Name] {
			continue
		}
		ref := sn.Ref(store.KindIngress, ing.Namespace, ing.Name)
		class, field := className(ing), "spec.ingressClassName"
		if (ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName == "") && class != "" {
			field = "metadata.annotations." + classAnnotation
		}
		switch {
		case class == "":
			out = append(out, diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: ReasonIngressNotServed, Field: field,
				Message: fmt.Sprintf("the Ingress names no ingress class, and neither --watch-ingress-without-class nor a default IngressClass of moat's (controller %s) claims it: moat leaves it unserved", controller),
				Hint:    fmt.Sprintf("set spec.ingressClassName: %s", served)})
		case field == "spec.ingressClassName" && len(sn.IngressClasses) > 0 && sn.IngressClasses[class] == nil:
			out = append(out, diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: ReasonIngressClassUnclaimed, Field: field,
				Message: fmt.Sprintf("IngressClass %q does not exist: no controller claims this Ingress, so nothing serves it", class),
				Hint:    "create the IngressClass, or name one of: " + strings.Join(classNames(sn), ", ")})
		default:
			hint := fmt.Sprintf("to serve it, run moat (and lint) with --ingress-class %s, or set %s: %s", class, field, served)
			if class == "nginx" {
				hint = fmt.Sprintf("to replace ingress-nginx in place, run moat (and lint) with --ingress-class nginx --controller-class k8s.io/ingress-nginx; to move it to moat side by side, set %s: %s (docs/migrate-from-ingress-nginx.md)", field, served)
			}
			out = append(out, diag.Diagnostic{Object: ref, Severity: diag.Warning, Reason: ReasonIngressNotServed, Field: field,
				Message: fmt.Sprintf("ingress class %q is not served by moat with --ingress-class %s (nor is it an IngressClass of controller %s): moat leaves this Ingress unserved", class, served, controller),
				Hint:    hint})
		}
	}
	return out
}

func classNames(sn *store.Snapshot) []string {
	out := make([]string, 0, len(sn.IngressClasses))
	for n := range sn.IngressClasses {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
