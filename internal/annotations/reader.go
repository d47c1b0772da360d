package annotations

import (
	"fmt"
	"strconv"
	"strings"
)

// First returns the first of names that is set, with its value; families
// use it for aliases (ingress-nginx reads the key, then its alias).
func (r *Reader) First(names ...string) (name, value string, ok bool) {
	for _, n := range names {
		if v, ok := r.Raw(n); ok {
			return n, strings.TrimSpace(v), true
		}
	}
	return "", "", false
}

// Int parses a decimal integer in [lo, hi]; a bad value keeps def and is
// reported.
func (r *Reader) Int(name string, def, lo, hi int) int {
	v, ok := r.Raw(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		r.Invalid(name, v, "expected an integer")
		return def
	}
	if n < lo || n > hi {
		r.Invalid(name, v, fmt.Sprintf("expected an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

// OneOf returns the value when it is one of allowed (compared exactly),
// else def, reporting a bad value.
func (r *Reader) OneOf(name, def string, allowed ...string) string {
	v, ok := r.Raw(name)
	if !ok {
		return def
	}
	t := strings.TrimSpace(v)
	for _, a := range allowed {
		if t == a {
			return t
		}
	}
	r.Invalid(name, v, "expected one of "+strings.Join(allowed, ", "))
	return def
}
