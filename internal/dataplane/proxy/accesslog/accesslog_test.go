package accesslog

import (
	"net/http/httptest"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestGloballyLogged(t *testing.T) {
	skip, _ := routecfg.NewStringMatch("/healthz")
	re, _ := routecfg.NewStringMatch("~^/metrics")
	g := &routecfg.Global{SkipAccessLogURIs: []routecfg.StringMatch{skip, re}}
	for uri, want := range map[string]bool{"/healthz": false, "/HEALTHZ": false, "/healthz?x=1": true, "/metrics/a": false, "/app": true} {
		if got := Logged(g, httptest.NewRequest("GET", uri, nil)); got != want {
			t.Errorf("%s: logged %v, want %v", uri, got, want)
		}
	}
	if Logged(&routecfg.Global{DisableAccessLog: true}, httptest.NewRequest("GET", "/", nil)) || !Logged(nil, httptest.NewRequest("GET", "/", nil)) {
		t.Error("disable-access-log")
	}
}
