// Package opentelemetry parses enable-opentelemetry,
// opentelemetry-trust-incoming-span and opentelemetry-operation-name: an
// Ingress's say over the controller ConfigMap's tracing defaults.
package opentelemetry

import (
	"regexp"
	"strings"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "enable-opentelemetry", Status: annotations.Supported,
		Doc: "true traces the Ingress's requests with OpenTelemetry (server span, W3C traceparent to the backend, OTLP export as the ConfigMap's otlp-collector-* and otel-* keys say) even when the ConfigMap's enable-opentelemetry is false; false leaves them untraced."},
	{Name: "opentelemetry-trust-incoming-span", Needs: annotations.RequiresTrue("enable-opentelemetry", "OpentelemetryNotEnabled"), Status: annotations.Supported,
		Doc: "false starts a new trace for each request instead of continuing the incoming traceparent (default: the ConfigMap's opentelemetry-trust-incoming-span). Read only with enable-opentelemetry: \"true\" on the Ingress, as ingress-nginx."},
	{Name: "opentelemetry-operation-name", Needs: annotations.RequiresTrue("enable-opentelemetry", "OpentelemetryNotEnabled"), Status: annotations.Supported,
		Doc: "Name of the Ingress's server spans: letters, digits, _ and - (ingress-nginx's validation). Read only with enable-opentelemetry: \"true\" on the Ingress."},
}

// operationNameRe is ingress-nginx's validation of the annotation.
var operationNameRe = regexp.MustCompile(`^[A-Za-z0-9_\-]*$`)

// Parse reads the family: nil when enable-opentelemetry is unset or
// invalid (the ConfigMap decides). As ingress-nginx's parser, the other two
// keys count only with enable-opentelemetry "true".
func Parse(r *annotations.Reader) *routecfg.RouteTracing {
	on, ok := boolean(r, "enable-opentelemetry", "the ConfigMap's enable-opentelemetry applies")
	if !ok {
		return nil
	}
	t := &routecfg.RouteTracing{Enabled: on}
	if !on {
		return t
	}
	t.Trust, t.TrustSet = boolean(r, "opentelemetry-trust-incoming-span", "the ConfigMap's opentelemetry-trust-incoming-span applies")
	if v, set := r.Raw("opentelemetry-operation-name"); set {
		if name := strings.TrimSpace(v); operationNameRe.MatchString(name) {
			t.OperationName = name
		} else {
			r.Invalid("opentelemetry-operation-name", v, "expected letters, digits, _ and - only (ingress-nginx's validation); the ConfigMap's operation name applies")
		}
	}
	return t
}

// boolean parses a set key; ok is false when it is unset or invalid
// (reported).
func boolean(r *annotations.Reader, name, fallback string) (v, ok bool) {
	raw, set := r.Raw(name)
	if !set {
		return false, false
	}
	b, err := nginx.ParseBool(raw)
	if err != nil {
		r.Invalid(name, raw, "expected true or false; "+fallback)
		return false, false
	}
	return b, true
}
