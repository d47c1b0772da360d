package gateway

import (
	"crypto/tls"
	"sort"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// certRecorder is poolRecorder with a distinct client certificate per
// Secret name.
type certRecorder struct{ poolRecorder }

func (r *certRecorder) ClientCertificate(ns, name string) (*tls.Certificate, string) {
	return &tls.Certificate{Certificate: [][]byte{[]byte(ns + "/" + name)}}, ""
}

// A route attached to two Gateways whose backend client certificates
// differ is reported once (ClientCertificateConflict, a warning: the first
// Gateway's certificate is presented); a clientCertificateRef of another
// kind is InvalidClientCertificateRef on the Gateway; a BackendTLSPolicy
// targetRef of another kind is UnsupportedTarget and ignored.
func TestBackendClientCertificateProblems(t *testing.T) {
	manifests := `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-a, namespace: ns}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80}]
  tls: {backend: {clientCertificateRef: {name: cert-a}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-b, namespace: ns}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80}]
  tls: {backend: {clientCertificateRef: {name: cert-b}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-kind, namespace: ns}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80}]
  tls: {backend: {clientCertificateRef: {kind: ConfigMap, name: cert-a}}}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: both, namespace: ns}
spec:
  parentRefs: [{name: gw-a}, {name: gw-b}]
  hostnames: [a.example.com]
  rules: [{backendRefs: [{name: s, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: p, namespace: ns}
spec:
  targetRefs: [{group: "", kind: Service, name: s}, {group: "", kind: ConfigMap, name: s}]
  validation: {wellKnownCACertificates: System, hostname: s.internal}
`
	sn := decodeWorld(t, manifests)
	rec := &certRecorder{poolRecorder{tls: map[string]*routecfg.UpstreamTLS{}}}
	out := Translate(sn, Options{}, rec)
	var got []string
	for _, d := range out.Diags {
		switch d.Reason {
		case "ClientCertificateConflict", "InvalidClientCertificateRef", "UnsupportedTarget":
			got = append(got, d.Object.Kind+" "+d.Object.Name+" "+d.Severity.String()+" "+d.Reason+" "+d.Field)
		}
	}
	sort.Strings(got)
	want := []string{
		"BackendTLSPolicy p warning UnsupportedTarget spec.targetRefs[1].kind",
		"Gateway gw-kind error InvalidClientCertificateRef spec.tls.backend.clientCertificateRef.kind",
		"HTTPRoute both warning ClientCertificateConflict spec.parentRefs",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The route's backend is TLS with gw-a's certificate (first by name).
	var certs []string
	for _, u := range rec.tls {
		if u.ClientCert != nil {
			certs = append(certs, string(u.ClientCert.Certificate[0]))
		}
	}
	if strings.Join(certs, ",") != "ns/cert-a" {
		t.Errorf("client certificates presented: %v, want [ns/cert-a]", certs)
	}
}
