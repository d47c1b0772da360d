package fastcgi

import (
	"testing"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/annotest"
	"github.com/moat-ingress/moat/internal/diag"
)

func TestParse(t *testing.T) {
	r := annotest.Reader("fastcgi-index", "index.php", "fastcgi-params-configmap", "ns/php-params")
	if c := Parse(r); c.Index != "index.php" || c.ConfigMap != "ns/php-params" {
		t.Errorf("got %+v", c)
	}
	annotest.NoDiags(t, r)
	for _, tc := range []struct{ key, value string }{
		{"fastcgi-index", "index.php; rm -rf"},
		{"fastcgi-index", ""},
		{"fastcgi-params-configmap", "php params"},
	} {
		r := annotest.Reader(tc.key, tc.value)
		if c := Parse(r); c != (Config{}) {
			t.Errorf("%s=%q: kept %+v", tc.key, tc.value, c)
		}
		annotest.WantDiag(t, r, tc.key, tc.value, "AnnotationInvalidValue")
	}
}

func TestNeedsFCGI(t *testing.T) {
	known := map[string]annotations.Key{}
	for _, k := range Keys {
		known[k.Name] = k
	}
	obj := diag.ObjectRef{Kind: "Ingress", Namespace: "ns", Name: "web"}
	p := annotations.DefaultPrefix + "/"
	if d := annotations.CheckNeeds("", map[string]string{p + "fastcgi-index": "index.php", p + "backend-protocol": "fcgi"}, obj, known); len(d) != 0 {
		t.Errorf("with backend-protocol fcgi: %v", d)
	}
	d := annotations.CheckNeeds("", map[string]string{p + "fastcgi-index": "index.php", p + "backend-protocol": "HTTP"}, obj, known)
	if len(d) != 1 || d[0].Reason != reasonNeedsFCGI || d[0].Severity != diag.Warning {
		t.Errorf("with backend-protocol HTTP: %v", d)
	}
}
