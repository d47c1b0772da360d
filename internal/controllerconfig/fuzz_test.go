package controllerconfig

import (
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/diag"
)

// FuzzParse drives every ConfigMap key's value parser: any value for any
// key (chosen by index, so every key is reached) is used or reported
// naming the key, without panicking, and parsing is deterministic.
func FuzzParse(f *testing.F) {
	for i, k := range Keys() {
		f.Add(uint16(i), k.Default, uint16(i+1), "")
	}
	for _, v := range []string{"60s", "1m", "TLSv1.2 TLSv1.3", "ECDHE-RSA-AES128-GCM-SHA256", "10.0.0.0/8, ::1", "max-age=1", "true", "off", "-1", "\x00"} {
		f.Add(uint16(0), v, uint16(3), v)
	}
	keys := Keys()
	f.Fuzz(func(t *testing.T, i uint16, v string, j uint16, w string) {
		data := map[string]string{keys[int(i)%len(keys)].Name: v, keys[int(j)%len(keys)].Name: w}
		obj := diag.ObjectRef{Kind: "ConfigMap", Namespace: "ns", Name: "cm"}
		c1, d1 := Parse(data, obj)
		c2, d2 := Parse(data, obj)
		if len(d1) != len(d2) || c1.HSTSValue() != c2.HSTSValue() {
			t.Fatalf("Parse(%q) is not deterministic", data)
		}
		for _, d := range d1 {
			if _, ok := data[strings.TrimPrefix(d.Field, "data.")]; !ok {
				t.Fatalf("diagnostic %+v names no key of %q", d, data)
			}
		}
	})
}
