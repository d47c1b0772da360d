package translate

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

const (
	classAnnotation   = "kubernetes.io/ingress.class"
	defaultClassAnnot = "ingressclass.kubernetes.io/is-default-class"
)

// classMatches decides whether moat serves an Ingress. As in ingress-nginx,
// spec.ingressClassName wins over the deprecated annotation. A class name
// matches when it equals --ingress-class or names an IngressClass whose
// controller is ours.
func (t *translator) classMatches(ing *networkingv1.Ingress) (bool, *diag.Diagnostic) {
	ref := t.Ref(ing)
	if ing.Spec.IngressClassName != nil && *ing.Spec.IngressClassName != "" {
		name := *ing.Spec.IngressClassName
		if t.ourClass(name) {
			return true, nil
		}
		return false, &diag.Diagnostic{Object: ref, Severity: diag.Info, Reason: "IngressClassNotMatched", Field: "spec.ingressClassName",
			Message: fmt.Sprintf("ingress class %q is not served by this controller (--ingress-class %s); ignored", name, t.Opts.IngressClass)}
	}
	if v, ok := ing.Annotations[classAnnotation]; ok && v != "" {
		if v == t.Opts.IngressClass || t.ourClass(v) {
			return true, &diag.Diagnostic{Object: ref, Severity: diag.Info, Reason: "DeprecatedClassAnnotation",
				Field:   "metadata.annotations." + classAnnotation,
				Message: "the kubernetes.io/ingress.class annotation is deprecated",
				Hint:    fmt.Sprintf("set spec.ingressClassName: %s", v)}
		}
		return false, &diag.Diagnostic{Object: ref, Severity: diag.Info, Reason: "IngressClassNotMatched", Field: "metadata.annotations." + classAnnotation,
			Message: fmt.Sprintf("ingress class %q is not served by this controller (--ingress-class %s); ignored", v, t.Opts.IngressClass)}
	}
	// No class named: a default IngressClass of ours claims it, as the
	// admission plugin would have filled it in.
	for _, ic := range t.Snapshot.IngressClasses {
		if ic.Annotations[defaultClassAnnot] == "true" && t.ourClass(ic.Name) {
			return true, nil
		}
	}
	if t.Opts.WatchWithoutClass {
		return true, nil
	}
	return false, &diag.Diagnostic{Object: ref, Severity: diag.Info, Reason: "IngressClassMissing", Field: "spec.ingressClassName",
		Message: "the Ingress names no ingress class and --watch-ingress-without-class is off; ignored",
		Hint:    fmt.Sprintf("set spec.ingressClassName: %s", t.Opts.IngressClass)}
}

func (t *translator) ourClass(name string) bool {
	if name == t.Opts.IngressClass {
		return true
	}
	ic, ok := t.Snapshot.IngressClasses[name]
	if !ok {
		return false
	}
	cc := t.Opts.ControllerClass
	if cc == "" {
		cc = DefaultControllerClass
	}
	return ic.Spec.Controller == cc
}
