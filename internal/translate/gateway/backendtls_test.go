package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/testutil"
)

// poolRecorder is a Resolver that records the pools asked for.
type poolRecorder struct {
	tls map[string]*routecfg.UpstreamTLS
}

func (r *poolRecorder) ServicePool(_ diag.ObjectRef, _, ns, name string, port int32, proto routecfg.BackendProtocol) (string, string) {
	return fmt.Sprintf("%s/%s:%d#%s", ns, name, port, proto), ""
}

func (r *poolRecorder) Certificate(ns, name string) (string, string) { return ns + "/" + name, "" }

func (r *poolRecorder) ClientCertificate(ns, name string) (*tls.Certificate, string) {
	return nil, "no client certificates here"
}

func (r *poolRecorder) TLSServicePool(_ diag.ObjectRef, _, ns, name string, port int32, _ routecfg.BackendProtocol, u *routecfg.UpstreamTLS, suffix string) (string, string) {
	key := fmt.Sprintf("%s/%s:%d%s", ns, name, port, suffix)
	r.tls[key] = u
	return key, ""
}

// Which policy applies to which backend: a policy naming the port's
// sectionName before one for the whole Service; of two for the same
// target the older (then the first by name) wins and the other is
// Conflicted; GRPCRoute backends become GRPCS; TLSRoute backends keep
// the client's TLS; invalid validation fails the connections (empty
// roots) with Accepted=False/Invalid; wellKnownCACertificates System
// uses the system roots. Ancestors are the Gateways of accepted parents.
func TestBackendTLSPolicies(t *testing.T) {
	ca := testutil.NewCA(t, "btls")
	caPEM := strings.ReplaceAll(strings.TrimSpace(string(ca.PEM())), "\n", "\n    ")
	manifests := classAndGateway + `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw2, namespace: ns}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80, hostname: other.example.com}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ca, namespace: ns}
data:
  ca.crt: |
    ` + caPEM + `
---
apiVersion: v1
kind: Service
metadata: {name: multi, namespace: ns}
spec: {ports: [{name: a, port: 80}, {name: b, port: 81}]}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: ns}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: bad, namespace: ns}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: sys, namespace: ns}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: gw}, {name: gw2}]
  hostnames: [a.example.com]
  rules:
  - backendRefs: [{name: multi, port: 80}, {name: multi, port: 81}, {name: s, port: 80}, {name: bad, port: 80}, {name: sys, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [rpc.example.com]
  rules: [{backendRefs: [{name: s, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: whole, namespace: ns}
spec:
  targetRefs: [{group: "", kind: Service, name: multi}]
  validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}], hostname: whole.internal}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: port-b, namespace: ns}
spec:
  targetRefs: [{group: "", kind: Service, name: multi, sectionName: b}]
  validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}], hostname: b.internal}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: s-1, namespace: ns}
spec:
  targetRefs: [{group: "", kind: Service, name: s}]
  validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}], hostname: s.internal, subjectAltNames: [{type: URI, uri: "spiffe://x/y"}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: s-2, namespace: ns}
spec:
  targetRefs: [{group: "", kind: Service, name: s}]
  validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}], hostname: s2.internal}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: bad, namespace: ns}
spec:
  targetRefs: [{group: "", kind: Service, name: bad}]
  validation: {caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}], wellKnownCACertificates: System, hostname: bad.internal}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: sys, namespace: ns}
spec:
  targetRefs: [{group: "", kind: Service, name: sys}]
  validation: {wellKnownCACertificates: System, hostname: sys.internal}
`
	sn := decodeWorld(t, manifests)
	rec := &poolRecorder{tls: map[string]*routecfg.UpstreamTLS{}}
	out := Translate(sn, Options{}, rec)
	var got []string
	for _, h := range out.Hosts {
		for _, rt := range h.Routes {
			for _, b := range rt.Backends {
				u := rec.tls[b.Pool]
				if u == nil {
					got = append(got, h.Name+" "+b.Pool+" clear")
					continue
				}
				roots := "ca"
				switch {
				case u.RootCAs == nil:
					roots = "system"
				case u.RootCAs.Equal(x509.NewCertPool()):
					roots = "none"
				}
				key := b.Pool[:strings.Index(b.Pool, "-btls-")]
				got = append(got, fmt.Sprintf("%s %s name=%s sni=%v roots=%s uris=%v", h.Name, key, u.Name, u.ServerName, roots, u.URISANs))
			}
		}
	}
	sort.Strings(got)
	want := []string{
		"a.example.com ns/bad:80#HTTPS name=bad.internal sni=true roots=none uris=[]",
		"a.example.com ns/multi:80#HTTPS name=whole.internal sni=true roots=ca uris=[]",
		"a.example.com ns/multi:81#HTTPS name=b.internal sni=true roots=ca uris=[]",
		"a.example.com ns/s:80#HTTPS name=s.internal sni=true roots=ca uris=[spiffe://x/y]",
		"a.example.com ns/sys:80#HTTPS name=sys.internal sni=true roots=system uris=[]",
		"rpc.example.com ns/s:80#GRPCS name=s.internal sni=true roots=ca uris=[spiffe://x/y]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("backends:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	d := Dump(out.Status)
	for _, w := range []string{
		"backendtlspolicy ns/bad\n  ancestor ns/gw Accepted=False/Invalid@0 ResolvedRefs=True/ResolvedRefs@0\n",
		"backendtlspolicy ns/port-b\n  ancestor ns/gw Accepted=True/Accepted@0 ResolvedRefs=True/ResolvedRefs@0\n",
		"backendtlspolicy ns/s-1\n  ancestor ns/gw Accepted=True/Accepted@0 ResolvedRefs=True/ResolvedRefs@0\n",
		"backendtlspolicy ns/s-2\n  ancestor ns/gw Accepted=False/Conflicted@0 ResolvedRefs=True/ResolvedRefs@0\n",
		"backendtlspolicy ns/sys\n  ancestor ns/gw Accepted=True/Accepted@0",
	} {
		if !strings.Contains(d, w) {
			t.Errorf("status lacks %q:\n%s", w, d)
		}
	}
	// gw2's listener hostname does not match the route: not an ancestor.
	if strings.Contains(d, "ancestor ns/gw2") {
		t.Errorf("gw2 is an ancestor though the route is not accepted there:\n%s", d)
	}
	var reasons []string
	for _, x := range out.Diags {
		if x.Object.Kind == store.KindBackendTLSPolicy {
			reasons = append(reasons, x.Object.Name+" "+x.Reason+" "+x.Field)
		}
	}
	sort.Strings(reasons)
	wantR := []string{"bad Invalid spec.validation", "s-2 Conflicted spec.targetRefs[0]"}
	if strings.Join(reasons, "\n") != strings.Join(wantR, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(reasons, "\n"), strings.Join(wantR, "\n"))
	}
}
