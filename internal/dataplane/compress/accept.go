package compress

import "strings"

// Accepts reports whether the Accept-Encoding lines name coding with a
// q-value above 0 (RFC 9110 §12.5.3). The first element naming it
// decides, as in nginx; a malformed q-value refuses it, as nginx's gzip
// check does. "*" does not count: nginx looks for the coding's own name.
func Accepts(lines []string, coding string) bool {
	for _, line := range lines {
		for elem := range strings.SplitSeq(line, ",") {
			name, params, _ := strings.Cut(elem, ";")
			if !strings.EqualFold(strings.TrimSpace(name), coding) {
				continue
			}
			q, ok := qvalue(params)
			return ok && q > 0
		}
	}
	return false
}

// qvalue finds q= among the parameters and returns it in thousandths;
// no q is 1000. ok is false for a malformed q-value.
func qvalue(params string) (q int, ok bool) {
	for p := range strings.SplitSeq(params, ";") {
		p = strings.TrimSpace(p)
		k, v, found := strings.Cut(p, "=")
		if !found || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		return parseQ(strings.TrimSpace(v))
	}
	return 1000, true
}

// parseQ parses RFC 9110's qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"].
func parseQ(v string) (int, bool) {
	if v == "" || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return 0, false
	}
	q := int(v[0]-'0') * 1000
	if len(v) == 1 {
		return q, true
	}
	if v[1] != '.' {
		return 0, false
	}
	scale := 100
	for i := 2; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}

// MSIE6 is nginx's test for gzip_disable msie6: "MSIE 4.", "MSIE 5." or
// "MSIE 6." without "SV1" after it, and not Opera (ngx_http_request.c).
func MSIE6(ua string) bool {
	i := strings.Index(ua, "MSIE ")
	if i < 0 || i+7 >= len(ua) || strings.Contains(ua, "Opera") {
		return false
	}
	if ua[i+6] != '.' {
		return false
	}
	switch ua[i+5] {
	case '4', '5':
		return true
	case '6':
		return !strings.Contains(ua[i+8:], "SV1")
	}
	return false
}
