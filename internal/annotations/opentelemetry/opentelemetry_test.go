package opentelemetry

import (
	"testing"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		kv   []string
		want *routecfg.RouteTracing
	}{
		{nil, nil},
		// Without enable-opentelemetry the others are ignored, as in
		// ingress-nginx (CheckNeeds reports them).
		{[]string{"opentelemetry-trust-incoming-span", "false", "opentelemetry-operation-name", "x"}, nil},
		{[]string{"enable-opentelemetry", "false", "opentelemetry-trust-incoming-span", "false"}, &routecfg.RouteTracing{}},
		{[]string{"enable-opentelemetry", "true"}, &routecfg.RouteTracing{Enabled: true}},
		{[]string{"enable-opentelemetry", " true ", "opentelemetry-trust-incoming-span", "false", "opentelemetry-operation-name", "checkout_v2-GET"},
			&routecfg.RouteTracing{Enabled: true, TrustSet: true, Trust: false, OperationName: "checkout_v2-GET"}},
		{[]string{"enable-opentelemetry", "true", "opentelemetry-trust-incoming-span", "true"}, &routecfg.RouteTracing{Enabled: true, TrustSet: true, Trust: true}},
	} {
		r := annotest.Reader(c.kv...)
		got := Parse(r)
		annotest.NoDiags(t, r)
		if (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("%v: got %+v, want %+v", c.kv, got, c.want)
		}
	}
}

func TestParseBad(t *testing.T) {
	r := annotest.Reader("enable-opentelemetry", "yes")
	if got := Parse(r); got != nil {
		t.Errorf("invalid switch: %+v (the ConfigMap must decide)", got)
	}
	annotest.WantDiag(t, r, "enable-opentelemetry", "yes", "AnnotationInvalidValue")

	r = annotest.Reader("enable-opentelemetry", "true", "opentelemetry-trust-incoming-span", "nope")
	if got := Parse(r); got == nil || !got.Enabled || got.TrustSet {
		t.Errorf("invalid trust: %+v", got)
	}
	annotest.WantDiag(t, r, "opentelemetry-trust-incoming-span", "nope", "AnnotationInvalidValue")

	// ingress-nginx validates the name with ^[A-Za-z0-9_\-]*$: no spaces,
	// no nginx variables.
	r = annotest.Reader("enable-opentelemetry", "true", "opentelemetry-operation-name", "GET $uri")
	if got := Parse(r); got == nil || got.OperationName != "" {
		t.Errorf("invalid name: %+v", got)
	}
	annotest.WantDiag(t, r, "opentelemetry-operation-name", "GET $uri", "AnnotationInvalidValue")
}
