// Package nginx owns the grammar of nginx values that ingress-nginx
// annotations and ConfigMap keys share: sizes, times, booleans, lists,
// CIDR lists, TLS protocol lists, status codes and header names. Both the
// annotation families and internal/controllerconfig read values through
// it, so one value means one thing wherever it is written. It is pure:
// callers turn errors into diagnostics naming their object and field.
package nginx

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// maxSize bounds sizes well inside int64 after scaling.
const maxSize = 1 << 62

// ParseSize parses an nginx size or offset: decimal digits with an
// optional k, m or g suffix (either case), surrounding spaces ignored.
// nginx's own parser (ngx_parse_size, ngx_parse_offset) decides: it reads
// the digits with ngx_atoi, so a sign ("+5") and a "b" suffix ("10b") are
// refused, although ingress-nginx's annotation regex lets "10b" through
// (nginx then fails the whole reload). g is an offset unit
// (client_max_body_size); moat accepts it for every size.
func ParseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, ok := digits(s)
	if !ok || n > maxSize/mult {
		return 0, fmt.Errorf("%q is not an nginx size (digits with an optional k, m or g suffix, such as 8k or 1m)", v)
	}
	return n * mult, nil
}

// digits parses a non-empty run of ASCII digits (no sign, no spaces) as
// ngx_atoi does, refusing values that overflow.
func digits(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		// 18 digits fit int64; longer is out of every nginx range.
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// time units in the order nginx requires them (ngx_parse_time): each part
// must use a smaller unit than the one before.
var timeUnits = []struct {
	suffix string
	d      time.Duration
}{
	{"y", 365 * 24 * time.Hour},
	{"M", 30 * 24 * time.Hour},
	{"w", 7 * 24 * time.Hour},
	{"d", 24 * time.Hour},
	{"h", time.Hour},
	{"m", time.Minute},
	{"s", time.Second},
	{"ms", time.Millisecond},
}

// maxTime is nginx's limit for a time in milliseconds (2^31-1 ms, about
// 24.8 days); larger values are refused as nginx refuses them.
const maxTime = 2147483647 * time.Millisecond

// maxSecTime is the same limit for nginx's times in seconds (about 68
// years).
const maxSecTime = 2147483647 * time.Second

// ParseTime parses an nginx time as its millisecond directives do
// (ngx_conf_set_msec_slot: proxy timeouts, worker_shutdown_timeout): one
// or more space-separated parts, each digits with a unit y, M, w, d, h,
// m, s or ms in decreasing order ("1h 30m"); a part without a unit is
// seconds. The total stays under 2^31-1 ms, as in nginx.
func ParseTime(v string) (time.Duration, error) { return parseTime(v, false) }

// ParseSecTime parses an nginx time as its second directives do
// (ngx_conf_set_sec_slot: ssl_session_timeout): the grammar of ParseTime
// without ms, bounded at 2^31-1 seconds.
func ParseSecTime(v string) (time.Duration, error) { return parseTime(v, true) }

func parseTime(v string, sec bool) (time.Duration, error) {
	limit, units := maxTime, "ms, s, m, h, d, w, M or y"
	if sec {
		limit, units = maxSecTime, "s, m, h, d, w, M or y"
	}
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("%q is not an nginx time (digits with an optional unit %s, such as 60s or 10m)", v, units)
	}
	parts := strings.Fields(v)
	if len(parts) == 0 {
		return bad()
	}
	var total time.Duration
	next := 0 // index of the largest unit still allowed
	for _, p := range parts {
		unit, idx := time.Second, len(timeUnits)
		num := p
		// "ms" before "m" and "s": the longest suffix wins.
		if strings.HasSuffix(p, "ms") {
			if sec {
				return bad()
			}
			num, unit, idx = p[:len(p)-2], time.Millisecond, len(timeUnits)-1
		} else {
			for i, u := range timeUnits[:len(timeUnits)-1] {
				if strings.HasSuffix(p, u.suffix) {
					num, unit, idx = p[:len(p)-1], u.d, i
					break
				}
			}
		}
		if idx < next {
			return bad()
		}
		next = idx + 1
		n, ok := digits(num)
		if !ok || n > int64(limit/unit) {
			return bad()
		}
		total += time.Duration(n) * unit
		if total > limit {
			return bad()
		}
	}
	return total, nil
}

// ParseSeconds parses ingress-nginx's unitless whole seconds
// (proxy-read-timeout: "60"; ingress-nginx reads these as integers and
// writes the unit itself), surrounding spaces ignored; the caller bounds
// the range.
func ParseSeconds(v string) (time.Duration, error) {
	n, ok := digits(strings.TrimSpace(v))
	if !ok || n > int64(maxTime/time.Second) {
		return 0, fmt.Errorf("%q is not a whole number of seconds", v)
	}
	return time.Duration(n) * time.Second, nil
}

// ParseBool parses a boolean as ingress-nginx does for annotations and
// ConfigMap keys alike (Go's strconv.ParseBool: true/false, 1/0, t/f in
// any case), surrounding spaces ignored.
func ParseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", v)
	}
	return b, nil
}

// SplitList splits a comma-separated value, trimming spaces and dropping
// empty items.
func SplitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ParseCIDRs parses a comma-separated list of CIDRs or single addresses
// (ingress-nginx's net.ParseIPNets); the error names the first bad item.
func ParseCIDRs(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range SplitList(v) {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, &BadItemError{Item: s, What: "an IP address or CIDR"}
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// BadItemError names the first bad item of a list.
type BadItemError struct {
	Item, What string
}

func (e *BadItemError) Error() string { return fmt.Sprintf("%q is not %s", e.Item, e.What) }

// StatusCodes parses a comma-separated list of HTTP status codes in
// [lo, hi].
func StatusCodes(v string, lo, hi int) ([]int, error) {
	var out []int
	for _, s := range SplitList(v) {
		n, ok := digits(s)
		if !ok || n < int64(lo) || n > int64(hi) {
			return nil, &BadItemError{Item: s, What: fmt.Sprintf("a status code from %d to %d", lo, hi)}
		}
		out = append(out, int(n))
	}
	return out, nil
}

// ParseProtocols reads an nginx protocol list ("TLSv1.2 TLSv1.3") into the
// range Go can serve: Go takes a minimum and a maximum, so a list with a
// gap is widened to cover it. Names nginx knows that Go does not offer
// (SSLv2, SSLv3) are returned apart; the caller decides whether they are
// an error (ConfigMap) or a warning (annotations).
func ParseProtocols(v string) (minV, maxV uint16, unsupported []string, err error) {
	for _, f := range strings.Fields(v) {
		var ver uint16
		switch f {
		case "TLSv1":
			ver = tls.VersionTLS10
		case "TLSv1.1":
			ver = tls.VersionTLS11
		case "TLSv1.2":
			ver = tls.VersionTLS12
		case "TLSv1.3":
			ver = tls.VersionTLS13
		case "SSLv2", "SSLv3":
			unsupported = append(unsupported, f)
			continue
		default:
			return 0, 0, nil, fmt.Errorf("unknown protocol %q (expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)", f)
		}
		if minV == 0 || ver < minV {
			minV = ver
		}
		if ver > maxV {
			maxV = ver
		}
	}
	if minV == 0 {
		return 0, 0, unsupported, fmt.Errorf("no TLS protocol Go supports in %q", v)
	}
	return minV, maxV, unsupported, nil
}

// ValidHeaderName reports an HTTP header name made of letters, digits,
// '-' and '_' (what ingress-nginx's header validators accept).
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
