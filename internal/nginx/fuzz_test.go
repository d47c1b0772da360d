package nginx

import (
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// sizeRef is the size grammar written the plain way: a regular expression
// for the syntax and big integers for the value, so no overflow check can
// hide a bug.
var sizeRef = regexp.MustCompile(`^([0-9]+)([kKmMgG]?)$`)

func refSize(v string) (int64, bool) {
	m := sizeRef.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return 0, false
	}
	n, _ := new(big.Int).SetString(m[1], 10)
	shift := map[string]uint{"": 0, "k": 10, "K": 10, "m": 20, "M": 20, "g": 30, "G": 30}[m[2]]
	n.Lsh(n, shift)
	if len(m[1]) > 18 || n.Cmp(big.NewInt(1<<62)) > 0 {
		return 0, false
	}
	return n.Int64(), true
}

// FuzzSize: ParseSize accepts exactly what the reference accepts, with the
// same value; times never go negative or past nginx's bound.
func FuzzSize(f *testing.F) {
	for _, s := range []string{"1m", "8k", "512", "2G", "10b", "+5", "-1", " 10 ", "1.5m", "", "k", "4611686018427387904", "4294967296g", "1h 30m", "500ms", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := ParseSize(v)
		want, ok := refSize(v)
		if (err == nil) != ok || got != want {
			t.Fatalf("ParseSize(%q) = %d, %v; reference %d, %v", v, got, err, want, ok)
		}
		if d, err := ParseTime(v); err == nil && (d < 0 || d > maxTime) {
			t.Fatalf("ParseTime(%q) = %v", v, d)
		}
		if d, err := ParseSecTime(v); err == nil && (d < 0 || d > maxSecTime) {
			t.Fatalf("ParseSecTime(%q) = %v", v, d)
		}
		if d, err := ParseSeconds(v); err == nil && d < 0 {
			t.Fatalf("ParseSeconds(%q) = %v", v, d)
		}
	})
}
