package nginx

import (
	"crypto/tls"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{"0": 0, "1": 1, "8k": 8 << 10, "8K": 8 << 10, "1m": 1 << 20, "10M": 10 << 20, "2g": 2 << 30, "2G": 2 << 30, " 5m ": 5 << 20, "007": 7}
	for in, want := range good {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	// "10b" and "+5" are the two values the annotation and ConfigMap
	// parsers used to disagree on; nginx's ngx_atoi refuses both.
	for _, in := range []string{"", " ", "m", "k", "1.5m", "-1", "+5", "10b", "100B", "1mb", "1 m", "ten", "0x10", "1e3", "99999999999999999999g", "8589934592g"} {
		if n, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, accepted", in, n)
		}
	}
}

func TestParseTime(t *testing.T) {
	good := map[string]time.Duration{
		"0": 0, "60": time.Minute, "60s": time.Minute, "10m": 10 * time.Minute, "500ms": 500 * time.Millisecond,
		"1h": time.Hour, "1d": 24 * time.Hour, "1w": 7 * 24 * time.Hour, "1h 30m": 90 * time.Minute,
		"1m 30s 500ms": 90*time.Second + 500*time.Millisecond, " 240s ": 240 * time.Second, "1h 30": time.Hour + 30*time.Second,
	}
	for in, want := range good {
		if got, err := ParseTime(in); err != nil || got != want {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	// Units must decrease (nginx refuses "30m 1h"), a unitless part is
	// last, and the total stays under nginx's 2^31-1 ms.
	for _, in := range []string{"", "s", "-1", "+5", "1.5s", "1h30m", "30m 1h", "1h 1h", "30 1h", "1S", "5sec", "1y", "25d", "2147484s"} {
		if d, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) = %v, accepted", in, d)
		}
	}
}

func TestParseSecTime(t *testing.T) {
	// ssl_session_timeout is a second directive: months are fine, ms not.
	for in, want := range map[string]time.Duration{"10m": 10 * time.Minute, "1M": 30 * 24 * time.Hour, "1y": 365 * 24 * time.Hour, "300": 5 * time.Minute} {
		if got, err := ParseSecTime(in); err != nil || got != want {
			t.Errorf("ParseSecTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"500ms", "1s 500ms", "69y", "", "+5"} {
		if d, err := ParseSecTime(in); err == nil {
			t.Errorf("ParseSecTime(%q) = %v, accepted", in, d)
		}
	}
}

func TestParseSeconds(t *testing.T) {
	if d, err := ParseSeconds(" 15 "); err != nil || d != 15*time.Second {
		t.Errorf("ParseSeconds(15) = %v, %v", d, err)
	}
	for _, in := range []string{"", "60s", "+5", "-1", "1.5", "0x10"} {
		if d, err := ParseSeconds(in); err == nil {
			t.Errorf("ParseSeconds(%q) = %v, accepted", in, d)
		}
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "True": true, " false ": false, "1": true, "0": false} {
		if got, err := ParseBool(in); err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "on", "yes", "maybe"} {
		if _, err := ParseBool(in); err == nil {
			t.Errorf("ParseBool(%q) accepted", in)
		}
	}
}

func TestLists(t *testing.T) {
	if got := SplitList(" a, ,b ,, c"); len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Errorf("SplitList = %q", got)
	}
	p, err := ParseCIDRs("10.1.2.3/8, ::ffff:192.0.2.1, 2001:db8::/32")
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::/32")}
	if err != nil || len(p) != 3 || p[0] != want[0] || p[1] != want[1] || p[2] != want[2] {
		t.Errorf("ParseCIDRs = %v, %v", p, err)
	}
	var bad *BadItemError
	if _, err := ParseCIDRs("10.0.0.0/8, 10.0.0.300"); !errors.As(err, &bad) || bad.Item != "10.0.0.300" {
		t.Errorf("bad CIDR: %v", err)
	}
	if c, err := StatusCodes("404, 503", 300, 599); err != nil || len(c) != 2 || c[0] != 404 || c[1] != 503 {
		t.Errorf("StatusCodes = %v, %v", c, err)
	}
	for _, in := range []string{"200", "600", "+404", "abc", "404,x"} {
		if _, err := StatusCodes(in, 300, 599); err == nil {
			t.Errorf("StatusCodes(%q) accepted", in)
		}
	}
}

func TestParseProtocols(t *testing.T) {
	for _, c := range []struct {
		in       string
		min, max uint16
		uns      int
		err      bool
	}{
		{"TLSv1.2 TLSv1.3", tls.VersionTLS12, tls.VersionTLS13, 0, false},
		{"TLSv1.3", tls.VersionTLS13, tls.VersionTLS13, 0, false},
		{"TLSv1 TLSv1.1 TLSv1.2", tls.VersionTLS10, tls.VersionTLS12, 0, false},
		{"SSLv3 TLSv1.2", tls.VersionTLS12, tls.VersionTLS12, 1, false},
		{"SSLv3", 0, 0, 1, true},
		{"TLSv9", 0, 0, 0, true},
	} {
		minV, maxV, uns, err := ParseProtocols(c.in)
		if (err != nil) != c.err || minV != c.min || maxV != c.max || len(uns) != c.uns {
			t.Errorf("%q: got %x %x %v %v", c.in, minV, maxV, uns, err)
		}
	}
}

func TestValidHeaderName(t *testing.T) {
	for in, want := range map[string]bool{"X-Request-ID": true, "x_y1": true, "": false, "X Y": false, "X:Y": false, "Ü": false} {
		if ValidHeaderName(in) != want {
			t.Errorf("ValidHeaderName(%q) = %v", in, !want)
		}
	}
}
