package annotations

import (
	"fmt"
	"net/netip"
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
			return nil, fmt.Errorf("%q is not an IP address or CIDR", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// StatusCodes parses a comma-separated list of HTTP status codes in
// [lo, hi].
func StatusCodes(v string, lo, hi int) ([]int, error) {
	var out []int
	for _, s := range SplitList(v) {
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("%q is not a status code from %d to %d", s, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

// ParseSize parses an nginx size ("1m", "8k", "512", "1g"; case
// insensitive) into bytes.
func ParseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
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
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not an nginx size (a number with an optional k, m or g suffix)", v)
	}
	return n * mult, nil
}
