package gateway

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
)

const addrClass = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: moat}
spec: {controllerName: moat.dev/gateway-controller}
`

// addrGateway is a Gateway with one HTTP listener; extra is more spec
// (addresses) and status is its status block ("" for none).
func addrGateway(name, created, extra, status string) string {
	s := fmt.Sprintf(`---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: %s, namespace: ns, creationTimestamp: "%s"}
spec:
  gatewayClassName: moat
  listeners: [{name: http, protocol: HTTP, port: 80}]
%s`, name, created, extra)
	if status != "" {
		s += "\nstatus:\n" + status
	}
	return s + "\n"
}

func translateAddrs(t *testing.T, pool string, docs ...string) Output {
	t.Helper()
	objs, diags := k8s.Decode([]byte(addrClass+strings.Join(docs, "")), "p.yaml")
	if len(diags) > 0 {
		t.Fatalf("decode: %v", diags)
	}
	return Translate(store.FromObjects(objs, nil), Options{AddressPool: netip.MustParsePrefix(pool)}, nil)
}

func addrOf(t *testing.T, out Output, gw string) string {
	t.Helper()
	st := out.Status.Gateways["ns/"+gw]
	if len(st.Addresses) != 1 {
		return ""
	}
	return st.Addresses[0].Value
}

// Addresses are assigned stably: a requested one, the published one,
// else a hash of the name; a younger Gateway never takes an older one's.
func TestAddressAssignment(t *testing.T) {
	pool := "10.1.0.0/24"
	a := addrGateway("a", "2026-01-01T00:00:00Z", "", "")
	b := addrGateway("b", "2026-01-02T00:00:00Z", "", "")
	out := translateAddrs(t, pool, a, b)
	aAddr, bAddr := addrOf(t, out, "a"), addrOf(t, out, "b")
	p := netip.MustParsePrefix(pool)
	for _, x := range []string{aAddr, bAddr} {
		ip, err := netip.ParseAddr(x)
		if err != nil || !p.Contains(ip) || x == "10.1.0.0" || x == "10.1.0.255" {
			t.Fatalf("address %q is not a host address of %s", x, pool)
		}
	}
	if aAddr == bAddr {
		t.Fatalf("both Gateways got %s", aAddr)
	}
	// Without b, a keeps its address; b alone keeps its own.
	if got := addrOf(t, translateAddrs(t, pool, a), "a"); got != aAddr {
		t.Errorf("a alone: %s, want %s", got, aAddr)
	}
	if got := addrOf(t, translateAddrs(t, pool, b), "b"); got != bAddr {
		t.Errorf("b alone: %s, want %s", got, bAddr)
	}
	// The published address wins over the hash, also when an older
	// Gateway requests b's hashed one.
	published := addrGateway("b", "2026-01-02T00:00:00Z", "", "  addresses: [{type: IPAddress, value: 10.1.0.77}]")
	older := addrGateway("c", "2025-01-01T00:00:00Z", "  addresses: [{type: IPAddress, value: "+bAddr+"}]", "")
	out = translateAddrs(t, pool, published, older)
	if got := addrOf(t, out, "b"); got != "10.1.0.77" {
		t.Errorf("published: b got %s, want 10.1.0.77", got)
	}
	if got := addrOf(t, out, "c"); got != bAddr {
		t.Errorf("requested: c got %s, want %s", got, bAddr)
	}
	// A published address another Gateway requests goes to the request.
	out = translateAddrs(t, pool, addrGateway("b", "2026-01-02T00:00:00Z", "", "  addresses: [{type: IPAddress, value: "+bAddr+"}]"), older)
	if got := addrOf(t, out, "b"); got == bAddr || got == "" {
		t.Errorf("b kept %q, which c requests", got)
	}
	for _, want := range []gatewayv1.FeatureName{"GatewayPort8080", "GatewayAddressEmpty"} {
		if fs := out.Status.GatewayClasses["moat"].SupportedFeatures; !slices.ContainsFunc(fs, func(f gatewayv1.SupportedFeature) bool { return f.Name == want }) {
			t.Errorf("supportedFeatures %v without %s", fs, want)
		}
	}
	// Sockets: one per Gateway port, each with its address.
	if len(out.Sockets) != 2 || out.Sockets[0].Address == out.Sockets[1].Address || out.Sockets[0].Port != 80 {
		t.Errorf("sockets %+v", out.Sockets)
	}
}

// A requested address that moat cannot give, and a pool without a free
// address, say so in the status; the Gateway is not served.
func TestAddressProblems(t *testing.T) {
	for _, c := range []struct {
		name, pool, extra string
		cond, reason      string
	}{
		{"outside the pool", "10.1.0.0/24", "  addresses: [{type: IPAddress, value: 10.2.0.1}]", "Programmed", "AddressNotUsable"},
		{"outside the pool, then inside", "10.1.0.0/24", "  addresses: [{type: IPAddress, value: 10.2.0.1}, {type: IPAddress, value: 10.1.0.9}]", "Programmed", "AddressNotUsable"},
		{"not an IP", "10.1.0.0/24", "  addresses: [{type: IPAddress, value: nope}]", "Accepted", "UnsupportedAddress"},
		{"a hostname", "10.1.0.0/24", "  addresses: [{type: Hostname, value: gw.example}]", "Accepted", "UnsupportedAddress"},
		{"pool full", "10.1.0.4/31", "", "Programmed", "AddressNotAssigned"},
	} {
		t.Run(c.name, func(t *testing.T) {
			docs := []string{addrGateway("x", "2026-03-01T00:00:00Z", c.extra, "")}
			if c.pool == "10.1.0.4/31" {
				// A /31 has two addresses, both taken by older Gateways.
				docs = append(docs, addrGateway("o1", "2026-01-01T00:00:00Z", "", ""), addrGateway("o2", "2026-01-02T00:00:00Z", "", ""))
			}
			out := translateAddrs(t, c.pool, docs...)
			st := out.Status.Gateways["ns/x"]
			got := meta.FindStatusCondition(st.Conditions, c.cond)
			if got == nil || got.Status != "False" || got.Reason != c.reason {
				t.Fatalf("%s: %+v, want False/%s", c.cond, got, c.reason)
			}
			if len(st.Addresses) != 0 {
				t.Errorf("addresses %+v", st.Addresses)
			}
			for _, s := range out.Sockets {
				if s.Gateway == "ns/x" {
					t.Errorf("socket %+v for a Gateway without address", s)
				}
			}
			if l := st.Listeners; len(l) != 1 || meta.IsStatusConditionTrue(l[0].Conditions, "Programmed") {
				t.Errorf("listener status %+v, want Programmed not True", l)
			}
		})
	}
}

// Without a pool, spec.addresses is still refused and nothing changes.
func TestNoPoolUnchanged(t *testing.T) {
	objs, _ := k8s.Decode([]byte(addrClass+addrGateway("x", "2026-01-01T00:00:00Z", "  addresses: [{type: IPAddress, value: 10.1.0.1}]", "")), "p.yaml")
	out := Translate(store.FromObjects(objs, nil), Options{}, nil)
	if c := meta.FindStatusCondition(out.Status.Gateways["ns/x"].Conditions, "Accepted"); c == nil || c.Reason != "UnsupportedAddress" {
		t.Fatalf("Accepted %+v", c)
	}
	if fs := out.Status.GatewayClasses["moat"].SupportedFeatures; slices.ContainsFunc(fs, func(f gatewayv1.SupportedFeature) bool {
		return f.Name == "GatewayPort8080" || f.Name == "GatewayAddressEmpty"
	}) {
		t.Errorf("GatewayPort8080 or GatewayAddressEmpty claimed without a pool")
	}
	if out.Sockets != nil || out.Status.Gateways["ns/x"].Addresses != nil {
		t.Fatalf("sockets or addresses without a pool: %+v %+v", out.Sockets, out.Status.Gateways["ns/x"].Addresses)
	}
}
