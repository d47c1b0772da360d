package translate

import (
	"slices"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/dump"
	"github.com/moat-ingress/moat/internal/store"
)

const streamsBase = `
apiVersion: v1
kind: ConfigMap
metadata: {name: tcp, namespace: moat}
data: {"5353": "db/dns:53", "5432": "db/pg:5432"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: udp, namespace: moat}
data: {"53": "db/dns:53"}
---
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: db}
spec:
  ports:
  - {name: dns-tcp, port: 53, protocol: TCP}
  - {name: dns, port: 53, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: pg, namespace: db}
spec:
  ports: [{port: 5432}]
`

func streamSnapshot(t *testing.T, slices string) *store.Snapshot {
	t.Helper()
	objs, diags := k8s.Decode([]byte(streamsBase+slices), "in.yaml")
	return store.FromObjects(objs, diags)
}

func dnsSlice(addr string) string {
	return `
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dns-1, namespace: db, labels: {kubernetes.io/service-name: dns}}
addressType: IPv4
ports: [{name: dns-tcp, port: 1054, protocol: TCP}, {name: dns, port: 1053, protocol: UDP}]
endpoints: [{addresses: ["` + addr + `"]}]
`
}

func streamPool(cfg *routecfg.Config, proto routecfg.StreamProtocol, port int) []string {
	for _, s := range cfg.Streams {
		if s.Protocol == proto && s.Port == port {
			var out []string
			for _, e := range cfg.Pools[s.Pool].Endpoints {
				out = append(out, e.Address)
			}
			return out
		}
	}
	return nil
}

// An EndpointSlice change reaches the streams through UpdateEndpoints,
// each protocol with its own port of a Service that has port 53 twice.
func TestStreamsUpdateEndpoints(t *testing.T) {
	opts := Options{TCPServices: "moat/tcp", UDPServices: "moat/udp"}
	cfg, _ := Translate(streamSnapshot(t, dnsSlice("10.0.0.1")), opts)
	if got := streamPool(cfg, routecfg.StreamUDP, 53); !slices.Equal(got, []string{"10.0.0.1:1053"}) {
		t.Fatalf("UDP 53 endpoints %v, want the UDP target port", got)
	}
	if got := streamPool(cfg, routecfg.StreamTCP, 5353); !slices.Equal(got, []string{"10.0.0.1:1054"}) {
		t.Fatalf("TCP 5353 endpoints %v, want the TCP target port", got)
	}
	if got := streamPool(cfg, routecfg.StreamTCP, 5432); got != nil {
		t.Fatalf("TCP 5432 has no endpoints and must not be served, got %v", got)
	}

	next, changed, ok := UpdateEndpoints(cfg, streamSnapshot(t, dnsSlice("10.0.0.2")), map[string]bool{"db/dns": true})
	if !ok {
		t.Fatal("an endpoint move of a stream's Service declined the fast path")
	}
	if want := []string{"db/dns:dns#udp", "db/dns:dns-tcp#tcp"}; !slices.Equal(changed, want) {
		t.Fatalf("changed pools %v, want %v", changed, want)
	}
	if got := streamPool(next, routecfg.StreamUDP, 53); !slices.Equal(got, []string{"10.0.0.2:1053"}) {
		t.Fatalf("UDP 53 endpoints after the update %v", got)
	}
	want, _ := Translate(streamSnapshot(t, dnsSlice("10.0.0.2")), opts)
	if a, b := dump.Config(next), dump.Config(want); a != b {
		t.Fatalf("UpdateEndpoints and Translate differ:\n%s\n---\n%s", a, b)
	}

	// pg gains its first endpoint: the stream appears, so translate runs.
	pg := strings.ReplaceAll(strings.ReplaceAll(dnsSlice("10.0.0.9"), "dns", "pg"), "pg-tcp", "")
	if _, _, ok := UpdateEndpoints(cfg, streamSnapshot(t, dnsSlice("10.0.0.1")+pg), map[string]bool{"db/pg": true}); ok {
		t.Fatal("a stream's Service gaining its first endpoint must take the full translate (the port opens)")
	}
}

// FuzzStreams: any tcp-services or udp-services entry translates without
// a panic, and a served one has a port in range and a pool with endpoints.
func FuzzStreams(f *testing.F) {
	for _, kv := range [][2]string{{"5353", "db/dns:53:PROXY:PROXY"}, {"53", "db/dns:dns"}, {"0", "db/pg:5432"}, {"5432", "db/pg::"}, {"x", "a/b/c:1"}} {
		f.Add(kv[0], kv[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		sn := streamSnapshot(t, dnsSlice("10.0.0.1"))
		for _, name := range []string{"moat/tcp", "moat/udp"} {
			cm := sn.ConfigMaps[name].DeepCopy()
			cm.Data = map[string]string{key: value}
			sn.ConfigMaps[name] = cm
		}
		cfg, _ := Translate(sn, Options{TCPServices: "moat/tcp", UDPServices: "moat/udp"})
		for _, s := range cfg.Streams {
			if s.Port < 1 || s.Port > 65535 || cfg.Pools[s.Pool] == nil || len(cfg.Pools[s.Pool].Endpoints) == 0 {
				t.Fatalf("served stream %+v for %q: %q", s, key, value)
			}
		}
	})
}
