package compress

import (
	"strconv"
	"strings"
	"testing"
)

func TestAccepts(t *testing.T) {
	cases := []struct {
		ae       string
		gzip, br bool
	}{
		{"", false, false},
		{"gzip", true, false},
		{"gzip, deflate, br", true, true},
		{"br;q=0, gzip", true, false},
		{"br; q=0.000, gzip;q=0.001", true, false},
		{"BR;Q=0.5", false, true},
		{"gzip;q=0", false, false},
		{"gzip;q=0.", false, false},
		{"gzip;q=1.0", true, false},
		{"gzip;q=1.5", false, false},    // malformed: refused, as nginx
		{"gzip;q=0.0001", false, false}, // four digits: malformed
		{"gzip;q=abc", false, false},
		{"identity", false, false},
		{"*", false, false}, // nginx matches the coding names only
		{"x-gzip, brotli", false, false},
		{"gzip;level=1;q=0.2", true, false},
		{"gzip;q=0, gzip", false, false}, // the first one decides
		{" gzip ;q=0.5 , br ; q=1", true, true},
	}
	for _, c := range cases {
		lines := []string{c.ae}
		if got := Accepts(lines, "gzip"); got != c.gzip {
			t.Errorf("%q gzip: %v, want %v", c.ae, got, c.gzip)
		}
		if got := Accepts(lines, "br"); got != c.br {
			t.Errorf("%q br: %v, want %v", c.ae, got, c.br)
		}
	}
	if !Accepts([]string{"deflate", "br"}, "br") {
		t.Error("a second Accept-Encoding line is read too")
	}
}

func TestMSIE6(t *testing.T) {
	for ua, want := range map[string]bool{
		"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)":      true,
		"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)": false,
		"Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)":          true,
		"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)":      false,
		"Opera/9.80 (compatible; MSIE 6.0; Windows NT 5.1)":       false,
		"curl/8.5.0": false,
		"MSIE 6.":    false, // too short, as nginx
	} {
		if got := MSIE6(ua); got != want {
			t.Errorf("%q: %v, want %v", ua, got, want)
		}
	}
}

// refAccepts is a plain reading of RFC 9110 for FuzzAccepts: split,
// trim, find q, parse it as a decimal of at most three digits.
func refAccepts(line, coding string) bool {
	for _, elem := range strings.Split(line, ",") {
		parts := strings.Split(elem, ";")
		if !strings.EqualFold(strings.TrimSpace(parts[0]), coding) {
			continue
		}
		for _, p := range parts[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				continue
			}
			v = strings.TrimSpace(v)
			if v == "" || (v[0] != '0' && v[0] != '1') {
				return false
			}
			if len(v) > 1 && (v[1] != '.' || len(v) > 5) {
				return false
			}
			if len(v) > 2 {
				if _, err := strconv.Atoi(v[2:]); err != nil || strings.ContainsAny(v[2:], "+-") {
					return false
				}
			}
			f, err := strconv.ParseFloat(strings.TrimSuffix(v, "."), 64)
			return err == nil && f > 0 && f <= 1
		}
		return true
	}
	return false
}

// FuzzAccepts: Accept-Encoding comes from the network; the parser never
// panics and agrees with the plain reading.
func FuzzAccepts(f *testing.F) {
	for _, s := range []string{"gzip, deflate, br", "br;q=0", "gzip;q=0.5", "*;q=0", "gzip;q=1.000", "br;q=0.", "gzip ; Q = 0.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []string{"gzip", "br"} {
			if got, want := Accepts([]string{s}, c), refAccepts(s, c); got != want {
				t.Fatalf("%q %s: %v, reference %v", s, c, got, want)
			}
		}
		MSIE6(s)
	})
}
