// Package nginxval reads the value syntaxes ingress-nginx annotations
// share (sizes like "1m", unitless seconds, integers) through an
// annotations.Reader, so each family reports bad values the same way:
// one diagnostic naming the key and value, and the default kept. The
// grammar itself is internal/nginx's, shared with the ConfigMap; this
// package is only the Reader glue (it imports annotations, which
// internal/nginx must not).
package nginxval

import (
	"fmt"
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/nginx"
)

// Size reads an nginx size (internal/nginx.ParseSize); a bad value keeps def and is reported.
func Size(r *annotations.Reader, name string, def int64) (int64, bool) {
	v, ok := r.Raw(name)
	if !ok {
		return def, false
	}
	n, err := nginx.ParseSize(v)
	if err != nil {
		// The grammar is internal/nginx's; the message is short because
		// Invalid already quotes the value.
		r.Invalid(name, v, "expected a size such as 8k, 1m or 0")
		return def, false
	}
	return n, true
}

// Int reads a decimal integer in [lo, hi] with Reader.Int's grammar; a
// bad value keeps def and is reported. ok says the value was set and used.
func Int(r *annotations.Reader, name string, def, lo, hi int) (int, bool) {
	if _, ok := r.Raw(name); !ok {
		return def, false
	}
	before := len(r.Diags)
	n := r.Int(name, def, lo, hi)
	return n, len(r.Diags) == before
}

// maxSeconds bounds timeouts at a day: nginx accepts more, but a larger
// value is almost certainly a unit mistake (milliseconds).
const maxSeconds = 86400

// Seconds reads ingress-nginx's unitless seconds (proxy-read-timeout:
// "60"); a bad value keeps def and is reported.
func Seconds(r *annotations.Reader, name string, def time.Duration) (time.Duration, bool) {
	v, ok := r.Raw(name)
	if !ok {
		return def, false
	}
	t := strings.TrimSpace(v)
	d, err := nginx.ParseSeconds(t)
	if err != nil {
		why := "expected a whole number of seconds"
		if _, derr := time.ParseDuration(t); derr == nil {
			why += " without a unit (ingress-nginx's validation refuses units)"
		}
		r.Invalid(name, v, why)
		return def, false
	}
	if d > maxSeconds*time.Second {
		r.Invalid(name, v, fmt.Sprintf("expected seconds from 0 to %d", maxSeconds))
		return def, false
	}
	return d, true
}

// OneOf reads a value that must be one of opts (compared case-insensitively,
// as ingress-nginx's ValidateOptions); it returns the matching option.
func OneOf(r *annotations.Reader, name, def string, opts ...string) (string, bool) {
	v, ok := r.Raw(name)
	if !ok {
		return def, false
	}
	t := strings.TrimSpace(v)
	for _, o := range opts {
		if strings.EqualFold(t, o) {
			return o, true
		}
	}
	r.Invalid(name, v, "expected one of "+strings.Join(opts, ", "))
	return def, false
}

// Warn records a warning about a key whose value is accepted but
// behaves differently from what the user may expect.
func Warn(r *annotations.Reader, name, reason, msg string) {
	r.Diags = append(r.Diags, diag.Diagnostic{
		Object:   r.Object,
		Severity: diag.Warning,
		Reason:   reason,
		Field:    "metadata.annotations." + r.FullKey(name),
		Message:  msg,
	})
}

// Set reports whether any of names is set.
func Set(r *annotations.Reader, names ...string) bool {
	for _, n := range names {
		if _, ok := r.Raw(n); ok {
			return true
		}
	}
	return false
}
