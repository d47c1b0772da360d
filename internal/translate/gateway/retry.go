package gateway

import (
	"fmt"
	"slices"
	"strings"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// retryCodes are the retry codes the proxy-next-upstream model can tell
// apart: the four Gateway API requires and the three ingress-nginx has.
var retryCodes = map[int]routecfg.NextUpstream{
	500: routecfg.NextHTTP500, 502: routecfg.NextHTTP502, 503: routecfg.NextHTTP503, 504: routecfg.NextHTTP504,
	403: routecfg.NextHTTP403, 404: routecfg.NextHTTP404, 429: routecfg.NextHTTP429,
}

// retry maps a rule's retry (experimental in v1.6.3) onto the
// proxy-next-upstream model, on top of tm (the rule's timeouts, else the
// defaults):
//   - connection errors and timed-out attempts are always retried (the
//     spec's SHOULD), and so are the answers with one of codes;
//   - attempts is the number of retries, so attempts+1 tries; unset
//     keeps proxy-next-upstream-tries;
//   - a retry may go back to an endpoint already tried (a one-endpoint
//     Service is retried), after backoff;
//   - any method is retried once its body is buffered, as the route asks
//     for retries; nginx retries POST, LOCK and PATCH only with
//     non_idempotent.
//
// It returns why the rule cannot be served ("" if it can) with the
// field, and the codes it leaves out (warned about, not fatal).
func retry(r *gatewayv1.HTTPRouteRetry, tm routecfg.Timeouts, field string) (out *routecfg.Timeouts, msg, mf string, ignored []string) {
	f := field + ".retry"
	tm.Next = routecfg.NextError | routecfg.NextTimeout | routecfg.NextNonIdempotent
	for i, c := range r.Codes {
		code := int(c)
		if code < 400 || code > 599 {
			return nil, fmt.Sprintf("retry code %d is not between 400 and 599", code), fmt.Sprintf("%s.codes[%d]", f, i), nil
		}
		if bit, ok := retryCodes[code]; ok {
			tm.Next |= bit
		} else {
			ignored = append(ignored, fmt.Sprintf("%s.codes[%d]", f, i))
		}
	}
	if r.Attempts != nil {
		if *r.Attempts < 1 {
			return nil, fmt.Sprintf("retry attempts %d is less than 1", *r.Attempts), f + ".attempts", nil
		}
		tm.Tries = *r.Attempts + 1
	}
	if r.Backoff != nil {
		d, err := time.ParseDuration(string(*r.Backoff))
		if !durationRE.MatchString(string(*r.Backoff)) || err != nil {
			return nil, fmt.Sprintf("retry backoff %q is not a Gateway API duration (GEP-2257, e.g. 100ms)", *r.Backoff), f + ".backoff", nil
		}
		tm.Backoff = d
	}
	tm.Again = true
	return &tm, "", "", ignored
}

// supportedRetryCodes lists retryCodes for messages.
func supportedRetryCodes() string {
	var cs []string
	for c := range retryCodes {
		cs = append(cs, fmt.Sprint(c))
	}
	slices.Sort(cs)
	return strings.Join(cs, ", ")
}

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
