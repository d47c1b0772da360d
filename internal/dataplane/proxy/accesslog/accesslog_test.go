package accesslog

import (
	"net/http/httptest"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg/global"
)

func TestGloballyLogged(t *testing.T) {
	skip, _ := global.NewStringMatch("/healthz")
	re, _ := global.NewStringMatch("~^/metrics")
	g := &global.Settings{SkipAccessLogURIs: []global.StringMatch{skip, re}}
	for uri, want := range map[string]bool{"/healthz": false, "/HEALTHZ": false, "/healthz?x=1": true, "/metrics/a": false, "/app": true} {
		if got := Logged(g, httptest.NewRequest("GET", uri, nil)); got != want {
			t.Errorf("%s: logged %v, want %v", uri, got, want)
		}
	}
	if Logged(&global.Settings{DisableAccessLog: true}, httptest.NewRequest("GET", "/", nil)) || !Logged(nil, httptest.NewRequest("GET", "/", nil)) {
		t.Error("disable-access-log")
	}
}
