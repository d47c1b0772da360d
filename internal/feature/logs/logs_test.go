package logs

import (
	"testing"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
)

func TestParse(t *testing.T) {
	for _, kv := range [][]string{nil, {"enable-access-log", "true"}, {"enable-rewrite-log", "false"}} {
		r := annotest.Reader(kv...)
		if l := Parse(r); l != nil {
			t.Errorf("%v: defaults give %+v", kv, l)
		}
		annotest.NoDiags(t, r)
	}
	r := annotest.Reader("enable-access-log", "false")
	if l := Parse(r); l == nil || !l.NoAccessLog || l.RewriteLog {
		t.Errorf("access log off: %+v", l)
	}
	annotest.NoDiags(t, r)
	r = annotest.Reader("enable-rewrite-log", "true")
	if l := Parse(r); l == nil || l.NoAccessLog || !l.RewriteLog {
		t.Errorf("rewrite log on: %+v", l)
	}
	annotest.NoDiags(t, r)
}

func TestParseBad(t *testing.T) {
	for _, key := range []string{"enable-access-log", "enable-rewrite-log"} {
		r := annotest.Reader(key, "off")
		if l := Parse(r); l != nil {
			t.Errorf("%s off: default not kept: %+v", key, l)
		}
		annotest.WantDiag(t, r, key, "off", "AnnotationInvalidValue")
	}
}
