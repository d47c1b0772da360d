package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/fastcgi"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
	"github.com/moat-ingress/moat/internal/translate/core"
)

// fcgiParamName is what a FastCGI parameter name may be (CGI meta-variable
// names); anything else in the ConfigMap is skipped with a diagnostic.
var fcgiParamName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// fastCGI builds the FastCGI settings of an Ingress whose backend-protocol
// is FCGI: fastcgi-index and the fastcgi-params-configmap entries, in key
// order (nginx's map order is its own; the keys are distinct either way).
func (t *Extractor) fastCGI(r *annotations.Reader, ing *networkingv1.Ingress) *routecfg.FastCGI {
	c := fastcgi.Parse(r)
	out := &routecfg.FastCGI{Index: c.Index}
	if c.ConfigMap == "" {
		return out
	}
	key, ok := t.SameNamespace(r, ing, "fastcgi-params-configmap", c.ConfigMap, "ConfigMap")
	if !ok {
		return out
	}
	cm, found := t.Snapshot.ConfigMaps[key]
	if !found {
		t.AnnDiag(r, "fastcgi-params-configmap", diag.Error, "ConfigMapNotFound",
			fmt.Sprintf("ConfigMap %s not found; only nginx's standard FastCGI parameters are sent", key))
		return out
	}
	for _, name := range core.SortedKeys(cm.Data) {
		v := cm.Data[name]
		if !fcgiParamName.MatchString(name) {
			t.AnnDiag(r, "fastcgi-params-configmap", diag.Error, "AnnotationInvalidValue",
				fmt.Sprintf("ConfigMap %s entry %q is not a FastCGI parameter name (letters, digits and '_'); skipped", key, name))
			continue
		}
		tv, err := annotations.ParseTemplateVars(v, vartemplate.FastCGIVars)
		if err == nil && !annotations.ValidHeaderValue(v) {
			err = fmt.Errorf("control characters")
		}
		if err != nil {
			t.AnnDiag(r, "fastcgi-params-configmap", diag.Error, "AnnotationInvalidValue",
				fmt.Sprintf("ConfigMap %s entry %s: %q: %v; skipped", key, name, v, err))
			continue
		}
		out.Params = append(out.Params, routecfg.FastCGIParam{Name: name, Value: tv})
	}
	return out
}

// FastCGISuffix tells apart pools of one Service port with different
// FastCGI settings: the settings belong to the pool's transport.
func FastCGISuffix(f *routecfg.FastCGI) string {
	if f == nil || f.Index == "" && len(f.Params) == 0 {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%q", f.Index)
	for _, p := range f.Params {
		fmt.Fprintf(h, "\x00%q=%q", p.Name, p.Value.String())
	}
	return "-" + hex.EncodeToString(h.Sum(nil))[:12]
}
