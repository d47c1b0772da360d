package gateway

import (
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// mirrorShare ends the messages of a mirror's backend problems.
const mirrorShare = "; requests are not mirrored to it"

// mirror resolves a RequestMirror filter into a routecfg.Mirror; ok false
// when its backend cannot be used (reported through problem: the
// route's ResolvedRefs, the rule still served without the mirror), or
// drop was told the rule is invalid.
func (t *translator) mirror(kind, rns string, ref diag.ObjectRef, m *gatewayv1.HTTPRequestMirrorFilter, field string,
	problem, drop func(string, string, string)) (routecfg.Mirror, bool) {
	out := routecfg.Mirror{}
	switch {
	case m.Percent != nil && m.Fraction != nil:
		drop("UnsupportedValue", "only one of percent and fraction may be set", field+".fraction")
		return out, false
	case m.Percent != nil:
		if *m.Percent < 0 || *m.Percent > 100 {
			drop("UnsupportedValue", fmt.Sprintf("mirror percent %d is not between 0 and 100", *m.Percent), field+".percent")
			return out, false
		}
		out.Numerator, out.Denominator = int(*m.Percent), 100
	case m.Fraction != nil:
		den := int32(100)
		if m.Fraction.Denominator != nil {
			den = *m.Fraction.Denominator
		}
		if m.Fraction.Numerator < 0 || den < 1 || m.Fraction.Numerator > den {
			drop("UnsupportedValue", fmt.Sprintf("mirror fraction %d/%d is not a fraction between 0 and 1", m.Fraction.Numerator, den), field+".fraction")
			return out, false
		}
		out.Numerator, out.Denominator = int(m.Fraction.Numerator), int(den)
	}
	resolved := true
	be := t.backendRef(kind, rns, ref, gatewayv1.BackendRef{BackendObjectReference: m.BackendRef}, field+".backendRef", mirrorShare,
		func(r, msg, f string) { resolved = false; problem(r, msg, f) })
	if !resolved || be.Pool == "" {
		return out, false
	}
	out.Pool = be.Pool
	return out, true
}
