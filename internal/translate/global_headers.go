package translate

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/controllerconfig"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg/global"
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/translate/core"
)

// globalHeaders reads the ConfigMaps that proxy-set-headers and
// add-headers name into g. Each entry is a header name and a value in
// nginx syntax with the closed set of request variables
// (vartemplate.Vars); an entry that is not is reported, naming the
// ConfigMap and the key, and left out while the others apply. A missing
// ConfigMap is reported and adds nothing, as ingress-nginx (which only
// logs it).
func (t *translator) globalHeaders(c *controllerconfig.Config, g *global.Settings) {
	g.ProxySetHeaders = t.headerConfigMap("proxy-set-headers", c.ProxySetHeaders, true)
	g.AddHeaders = t.headerConfigMap("add-headers", c.AddHeaders, false)
}

func (t *translator) headerConfigMap(key, name string, upstream bool) []vartemplate.Header {
	if name == "" {
		return nil
	}
	ns, n, _ := strings.Cut(name, "/")
	cm, ok := t.Snapshot.ConfigMaps[name]
	if !ok {
		ctrlNS, ctrlName, _ := strings.Cut(t.Opts.ConfigMap, "/")
		t.Add(diag.Diagnostic{Object: t.Snapshot.Ref(store.KindConfigMap, ctrlNS, ctrlName), Severity: diag.Error, Reason: "GlobalHeadersNotFound", Field: "data." + key,
			Message: fmt.Sprintf("ConfigMap %s named by %s not found; no headers are added", name, key)})
		return nil
	}
	ref := t.Snapshot.Ref(store.KindConfigMap, ns, n)
	var out []vartemplate.Header
	for _, h := range core.SortedKeys(cm.Data) {
		v := strings.TrimSpace(cm.Data[h])
		why := headerEntryProblem(h, v, upstream)
		var tv vartemplate.Template
		if why == "" {
			var err error
			if tv, err = annotations.ParseTemplate(v); err != nil {
				why = err.Error()
			}
		}
		if why != "" {
			t.Add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "GlobalHeaderInvalid", Field: "data." + h,
				Message: fmt.Sprintf("%s entry %q (ConfigMap %s, named by the controller ConfigMap's %s): %s; this header is not set, the others are", key, h, name, key, why)})
			continue
		}
		out = append(out, vartemplate.Header{Name: http.CanonicalHeaderKey(h), Value: tv})
	}
	return out
}

// framing are the headers that frame or route a message: setting them
// from configuration would desynchronise moat and its peers.
var framing = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Keep-Alive": true,
	"Upgrade": true, "Te": true, "Trailer": true, "Host": true}

func headerEntryProblem(name, v string, upstream bool) string {
	switch {
	case !nginx.ValidHeaderName(name):
		return "not a header name (letters, digits, - and _)"
	case !annotations.ValidHeaderValue(v):
		return "the value has control characters"
	case framing[http.CanonicalHeaderKey(name)]:
		if upstream && http.CanonicalHeaderKey(name) == "Host" {
			return "moat does not set Host from here; use the upstream-vhost annotation"
		}
		return "a header that frames the message cannot be set"
	}
	return ""
}
