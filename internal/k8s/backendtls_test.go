package k8s

import (
	"testing"

	"github.com/moat-ingress/moat/internal/diag"
)

// BackendTLSPolicy v1 is read in file mode with line and field for a
// misspelt field; the v1alpha3 of older releases names the version to use.
func TestDecodeBackendTLSPolicy(t *testing.T) {
	in := `apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: p}
spec:
  targetRefs: [{group: "", kind: Service, name: s}]
  validation:
    hostname: s.internal
    wellKnownCACertificates: System
    caCertificateRef: [{group: "", kind: ConfigMap, name: ca}]
---
apiVersion: gateway.networking.k8s.io/v1alpha3
kind: BackendTLSPolicy
metadata: {name: old}
`
	objs, diags := Decode([]byte(in), "p.yaml")
	checkKeys(t, objs, "BackendTLSPolicy default/p@1")
	checkDiags(t, diags,
		want{sev: diag.Warning, reason: ReasonUnknownField, line: 9, field: "spec.validation.caCertificateRef"},
		want{sev: diag.Error, reason: ReasonUnsupportedAPI, line: 11, field: "apiVersion", in: "backendtlspolicy default/old"},
	)
}
