package k8s

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

// decodeSecret checks each data value's base64 itself before decoding:
// encoding/json would fail the whole object on the first bad value
// without naming the key, and one bad key must not hide the others.
func decodeSecret(d *decoder, ref diag.ObjectRef, m map[string]any) []decoded {
	if data, ok := m["data"].(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(data)) {
			field := "data." + k
			switch v := data[k].(type) {
			case nil:
			case string:
				// StdEncoding skips '\r' and '\n', like the API server's
				// decoding of []byte fields, so wrapped base64 is fine.
				if _, err := base64.StdEncoding.DecodeString(v); err != nil {
					d.add(d.fieldRef(ref, k), diag.Error, ReasonInvalidBase64, field,
						fmt.Sprintf("value is not valid base64 (%v); key left out", err),
						"Secret data values are base64-encoded (base64 -w0 tls.crt); put plain text under stringData instead")
					delete(data, k)
				}
			default:
				d.add(d.fieldRef(ref, k), diag.Error, ReasonInvalidBase64, field,
					fmt.Sprintf("value must be a base64 string, found %s; key left out", jsonKind(v)), "")
				delete(data, k)
			}
		}
	}
	d.coerceStringMap(ref, m, "stringData", "stringData")
	var s corev1.Secret
	if !d.typed(ref, m, &s) {
		return nil
	}
	// The API server merges stringData into data on write, stringData
	// winning, and never returns stringData; readers see only data.
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
	defaultNamespace(&s.Namespace)
	defaultSecret(&s)
	return []decoded{{&s}}
}
