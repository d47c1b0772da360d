package upstream

import (
	"net/http"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// TestTransports: one transport per protocol and TLS identity, shared by
// pools with the same identity, kept across applies, dropped when unused.
func TestTransports(t *testing.T) {
	plain := NewTransport(TransportOptions{})
	ts := NewTransports(TransportOptions{}, plain)
	a := &routecfg.UpstreamTLS{ID: "aaa", Name: "a.svc"}
	b := &routecfg.UpstreamTLS{ID: "bbb", Name: "b.svc", Verify: true}
	pools := map[string]*routecfg.Pool{
		"ns/web:80":           {Key: "ns/web:80"},
		"ns/web:80#HTTPS-a":   {Key: "ns/web:80#HTTPS-a", Protocol: routecfg.ProtocolHTTPS, TLS: a},
		"ns/other:80#HTTPS-a": {Key: "ns/other:80#HTTPS-a", Protocol: routecfg.ProtocolHTTPS, TLS: a},
		"ns/web:80#HTTPS-b":   {Key: "ns/web:80#HTTPS-b", Protocol: routecfg.ProtocolHTTPS, TLS: b},
		"ns/grpc:80#GRPC":     {Key: "ns/grpc:80#GRPC", Protocol: routecfg.ProtocolGRPC},
	}
	ts.Apply(pools)
	if be := ts.For("ns/web:80"); be.Transport != ts.fast || ts.fast.Fallback() != plain || be.Scheme != "http" {
		t.Errorf("plain pool: %+v", be)
	}
	ha, hb := ts.For("ns/web:80#HTTPS-a"), ts.For("ns/web:80#HTTPS-b")
	if ha.Scheme != "https" || ha.Transport == (Std{RoundTripper: plain}) || ha.Transport == hb.Transport {
		t.Errorf("HTTPS pools: %+v %+v", ha, hb)
	}
	if ts.For("ns/other:80#HTTPS-a").Transport != ha.Transport {
		t.Error("pools with one TLS identity do not share a transport")
	}
	g := ts.For("ns/grpc:80#GRPC")
	if g.Scheme != "http" || !g.Transport.(Std).RoundTripper.(*http.Transport).Protocols.UnencryptedHTTP2() {
		t.Errorf("GRPC pool: %+v", g)
	}
	if ha.Transport.(Std).RoundTripper.(*http.Transport).TLSClientConfig.VerifyConnection != nil || hb.Transport.(Std).RoundTripper.(*http.Transport).TLSClientConfig.VerifyConnection == nil {
		t.Error("verification set on the wrong transport")
	}
	// A swap keeping identity a keeps its transport; b is dropped.
	delete(pools, "ns/web:80#HTTPS-b")
	ts.Apply(pools)
	if ts.For("ns/web:80#HTTPS-a").Transport != ha.Transport {
		t.Error("transport not kept across applies")
	}
	if be := ts.For("ns/web:80#HTTPS-b"); be.Transport != ts.fast {
		t.Error("removed pool still has its transport")
	}
	if len(ts.byID) != 2 {
		t.Errorf("%d transports kept, want 2", len(ts.byID))
	}
}
