package httprule

import (
	"fmt"
	"regexp"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Timeouts maps a rule's timeouts (GEP-1742) onto the proxy-*-timeout
// model, starting from the controller defaults def. nil: the rule sets
// none and the defaults apply. The model has no deadline on the whole
// transaction, so:
//   - backendRequest bounds each attempt's connect, each write and each
//     wait for the upstream (the response header, then between body
//     reads), as proxy-read-timeout does;
//   - request bounds the same waits when backendRequest is unset or 0s,
//     and no retry starts after it (proxy-next-upstream-timeout);
//   - 0s disables the bound.
//
// A response that keeps streaming is therefore never cut at request.
func Timeouts(rt *gatewayv1.HTTPRouteTimeouts, def routecfg.Timeouts, field string) (*routecfg.Timeouts, string, string) {
	if rt == nil || (rt.Request == nil && rt.BackendRequest == nil) {
		return nil, "", ""
	}
	parse := func(d *gatewayv1.Duration, f string) (time.Duration, bool, string) {
		if d == nil {
			return 0, false, ""
		}
		v, err := time.ParseDuration(string(*d))
		if !durationRE.MatchString(string(*d)) || err != nil {
			return 0, false, fmt.Sprintf("%s %q is not a Gateway API duration (GEP-2257, e.g. 500ms, 1h30m)", f, *d)
		}
		return v, true, ""
	}
	req, hasReq, msg := parse(rt.Request, "request")
	if msg != "" {
		return nil, msg, field + ".timeouts.request"
	}
	be, hasBe, msg := parse(rt.BackendRequest, "backendRequest")
	if msg != "" {
		return nil, msg, field + ".timeouts.backendRequest"
	}
	if hasReq && hasBe && req != 0 && be > req {
		return nil, "backendRequest timeout cannot be longer than request timeout", field + ".timeouts.backendRequest"
	}
	tm := def
	var attempt time.Duration // 0: no bound
	switch {
	case hasBe && be > 0:
		attempt = be
	case hasReq:
		attempt = req
	}
	tm.Read = attempt
	if attempt > 0 {
		tm.Connect = min(tm.Connect, attempt)
		tm.Send = min(tm.Send, attempt)
	} else {
		tm.Send = 0
	}
	if hasReq {
		tm.NextTimeout = req
	}
	return &tm, "", ""
}

// durationRE is the CRD's pattern for a Duration (GEP-2257), a subset of
// Go's syntax: file mode has no API server to check it.
var durationRE = regexp.MustCompile(`^([0-9]{1,5}(h|m|s|ms)){1,4}$`)
