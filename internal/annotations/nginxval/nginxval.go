// Package nginxval reads the value syntaxes ingress-nginx annotations
// share (sizes like "1m", unitless seconds, integers) through an
// annotations.Reader, so each family reports bad values the same way:
// one diagnostic naming the key and value, and the default kept.
package nginxval

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/diag"
)

// ParseSize parses an nginx size: digits with an optional k, m or g
// suffix (either case; ingress-nginx's SizeRegex also allows b).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty size")
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	case 'b', 'B':
	default:
		mult = 0
	}
	num := s
	if mult != 0 {
		num = s[:len(s)-1]
	} else {
		mult = 1
	}
	if num == "" || strings.TrimLeft(num, "0123456789") != "" {
		return 0, fmt.Errorf("expected a size such as 8k, 1m or 0")
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > (1<<62)/mult {
		return 0, fmt.Errorf("size out of range")
	}
	return n * mult, nil
}

// Size reads an nginx size; a bad value keeps def and is reported.
func Size(r *annotations.Reader, name string, def int64) (int64, bool) {
	v, ok := r.Raw(name)
	if !ok {
		return def, false
	}
	n, err := ParseSize(v)
	if err != nil {
		r.Invalid(name, v, err.Error())
		return def, false
	}
	return n, true
}

// Int reads a decimal integer in [lo, hi]; a bad value keeps def and is
// reported.
func Int(r *annotations.Reader, name string, def, lo, hi int) (int, bool) {
	v, ok := r.Raw(name)
	if !ok {
		return def, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		r.Invalid(name, v, "expected an integer")
		return def, false
	}
	if n < lo || n > hi {
		r.Invalid(name, v, fmt.Sprintf("expected an integer from %d to %d", lo, hi))
		return def, false
	}
	return n, true
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
	n, err := strconv.Atoi(t)
	if err != nil {
		why := "expected a whole number of seconds"
		if _, derr := time.ParseDuration(t); derr == nil {
			why += " without a unit (ingress-nginx's validation refuses units)"
		}
		r.Invalid(name, v, why)
		return def, false
	}
	if n < 0 || n > maxSeconds {
		r.Invalid(name, v, fmt.Sprintf("expected seconds from 0 to %d", maxSeconds))
		return def, false
	}
	return time.Duration(n) * time.Second, true
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
