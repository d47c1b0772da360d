// Package fastcgi parses fastcgi-index and fastcgi-params-configmap, the
// settings of backend-protocol: FCGI.
package fastcgi

import (
	"regexp"

	"github.com/moat-ingress/moat/internal/annotations"
)

const reasonNeedsFCGI = "FastCGIWithoutFCGIBackend"

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "fastcgi-index", Status: annotations.Supported, Needs: annotations.RequiresValue("backend-protocol", "FCGI", reasonNeedsFCGI),
		Doc: "fastcgi_index: appended to SCRIPT_NAME ($fastcgi_script_name) when the URI ends with \"/\"."},
	{Name: "fastcgi-params-configmap", Status: annotations.Supported, Needs: annotations.RequiresValue("backend-protocol", "FCGI", reasonNeedsFCGI),
		Doc: "A ConfigMap of this namespace (\"name\" or \"namespace/name\") whose entries are sent as FastCGI parameters after nginx's fastcgi_params, so they override them; values may use the request variables of fastcgi_params ($document_root, $fastcgi_script_name, $request_uri, ...). Another namespace, a missing ConfigMap or an unknown variable is an error naming it."},
}

// validValue is ingress-nginx's validator for both keys.
var validValue = regexp.MustCompile(`^[A-Za-z0-9\-_./]*$`)

// Config is what the Ingress asks for.
type Config struct {
	Index string
	// ConfigMap is the value of fastcgi-params-configmap, or "".
	ConfigMap string
}

// Parse reads the keys; invalid values are reported and ignored.
func Parse(r *annotations.Reader) Config {
	var c Config
	for _, k := range []struct {
		name string
		dst  *string
	}{{"fastcgi-index", &c.Index}, {"fastcgi-params-configmap", &c.ConfigMap}} {
		v, ok := r.Raw(k.name)
		if !ok {
			continue
		}
		if v == "" || !validValue.MatchString(v) {
			r.Invalid(k.name, v, "expected letters, digits, '-', '_', '.' and '/'; ignored")
			continue
		}
		*k.dst = v
	}
	return c
}
