// Package ratelimit parses ingress-nginx's per-client limits: limit-rps,
// limit-rpm, limit-burst-multiplier, limit-connections, limit-allowlist
// and limit-rate(-after). Like ingress-nginx, limits count per replica.
package ratelimit

import (
	"errors"
	"math"
	"net/netip"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/nginxval"
	"github.com/moat-ingress/moat/internal/nginx"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// DefaultBurstMultiplier is ingress-nginx's limit-burst-multiplier.
const DefaultBurstMultiplier = 5

// Keys is the family's table.
var Keys = []annotations.Key{
	{Name: "limit-rps", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Requests per second per client address (the real client when forwarded headers are trusted), as nginx limit_req with burst = rps × limit-burst-multiplier, nodelay; excess requests get limit-req-status-code (503). Counted per replica, shared by the Ingress's paths, kept across reloads."},
	{Name: "limit-rpm", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Requests per minute per client address, as limit-rps; both apply when both are set."},
	{Name: "limit-burst-multiplier", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Burst size as a multiple of limit-rps / limit-rpm; default 5."},
	{Name: "limit-connections", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Concurrent requests per client address (nginx limit_conn); excess requests get limit-conn-status-code (503)."},
	{Name: "limit-allowlist", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Comma-separated CIDRs or addresses exempt from limit-rps, limit-rpm and limit-connections."},
	{Name: "limit-whitelist", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Older name of limit-allowlist, read when limit-allowlist is unset."},
	{Name: "limit-rate", Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Kilobytes per second sent to the client per response (nginx limit_rate); 0 is unlimited."},
	{Name: "limit-rate-after", Needs: annotations.Requires("limit-rate", "LimitRateMissing"), Scope: annotations.ScopeLocation, Risk: "Low", Status: annotations.Supported,
		Doc: "Kilobytes of a response sent at full speed before limit-rate applies."},
}

// Parse reads the family; nil when no limit is set.
func Parse(r *annotations.Reader) *routecfg.Limits { return ParseDefaults(r, 0, 0) }

// ParseDefaults is Parse with the controller ConfigMap's limit-rate and
// limit-rate-after (KiB/s, KiB) used where the Ingress sets none or an
// invalid one, as ingress-nginx.
func ParseDefaults(r *annotations.Reader, defRate, defAfter int) *routecfg.Limits {
	const maxInt = math.MaxInt32
	rps, _ := nginxval.Int(r, "limit-rps", 0, 0, maxInt)
	rpm, _ := nginxval.Int(r, "limit-rpm", 0, 0, maxInt)
	conn, _ := nginxval.Int(r, "limit-connections", 0, 0, maxInt)
	mult, _ := nginxval.Int(r, "limit-burst-multiplier", DefaultBurstMultiplier, 0, 1000)
	rate, _ := nginxval.Int(r, "limit-rate", defRate, 0, maxInt)
	after, _ := nginxval.Int(r, "limit-rate-after", defAfter, 0, maxInt)
	allowKey := "limit-allowlist"
	allowRaw, hasAllow := r.Raw(allowKey)
	if !hasAllow {
		allowKey = "limit-whitelist"
		allowRaw, hasAllow = r.Raw(allowKey)
	}
	var allow []netip.Prefix
	if hasAllow {
		var err error
		allow, err = nginx.ParseCIDRs(allowRaw)
		var bad *nginx.BadItemError
		if errors.As(err, &bad) {
			r.Invalid(allowKey, allowRaw, "entry "+bad.Item+" is not an address or CIDR")
			allow = nil
		}
	}
	if rps == 0 && rpm == 0 && conn == 0 && rate == 0 {
		if hasAllow || nginxval.Set(r, "limit-burst-multiplier") {
			nginxval.Warn(r, allowKey, "LimitWithoutRate", "limit-allowlist and limit-burst-multiplier have no effect without limit-rps, limit-rpm or limit-connections")
		}
		return nil
	}
	return &routecfg.Limits{
		Zone:        r.Object.Namespace + "/" + r.Object.Name,
		RPS:         rps,
		BurstRPS:    rps * mult,
		RPM:         rpm,
		BurstRPM:    rpm * mult,
		Connections: conn,
		Allow:       allow,
		Rate:        int64(rate) << 10,
		RateAfter:   int64(after) << 10,
	}
}
