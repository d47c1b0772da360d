package backendprotocol

import (
	"testing"

	"github.com/moat-ingress/moat/internal/annotations/annotest"
	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestParse(t *testing.T) {
	for v, want := range map[string]routecfg.BackendProtocol{
		"HTTP": routecfg.ProtocolHTTP, "https": routecfg.ProtocolHTTPS, "GRPC": routecfg.ProtocolGRPC,
		"grpcs": routecfg.ProtocolGRPCS, "AUTO_HTTP": routecfg.ProtocolAutoHTTP, " fcgi ": routecfg.ProtocolFCGI,
	} {
		r := annotest.Reader("backend-protocol", v)
		if got := Parse(r); got != want {
			t.Errorf("%q: %s, want %s", v, got, want)
		}
		annotest.NoDiags(t, r)
	}
	if got := Parse(annotest.Reader()); got != routecfg.ProtocolHTTP {
		t.Errorf("unset: %s", got)
	}
	for _, v := range []string{"AJP", "h2c", ""} {
		r := annotest.Reader("backend-protocol", v)
		if got := Parse(r); got != routecfg.ProtocolHTTP {
			t.Errorf("%q: %s, want HTTP", v, got)
		}
		annotest.WantDiag(t, r, "backend-protocol", v, "AnnotationInvalidValue")
	}
}
