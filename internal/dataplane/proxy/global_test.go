package proxy

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestDropUnderscoreHeaders(t *testing.T) {
	h := http.Header{"X_under": {"1"}, "X-Dash": {"2"}, "_": {"3"}}
	dropUnderscoreHeaders(h)
	if len(h) != 1 || h.Get("X-Dash") != "2" {
		t.Errorf("headers = %v", h)
	}
}

func TestGloballyLogged(t *testing.T) {
	skip, _ := routecfg.NewStringMatch("/healthz")
	re, _ := routecfg.NewStringMatch("~^/metrics")
	g := &routecfg.Global{SkipAccessLogURIs: []routecfg.StringMatch{skip, re}}
	for uri, want := range map[string]bool{"/healthz": false, "/HEALTHZ": false, "/healthz?x=1": true, "/metrics/a": false, "/app": true} {
		if got := globallyLogged(g, httptest.NewRequest("GET", uri, nil)); got != want {
			t.Errorf("%s: logged %v, want %v", uri, got, want)
		}
	}
	if globallyLogged(&routecfg.Global{DisableAccessLog: true}, httptest.NewRequest("GET", "/", nil)) || !globallyLogged(nil, httptest.NewRequest("GET", "/", nil)) {
		t.Error("disable-access-log")
	}
}

func TestGlobalResponse(t *testing.T) {
	st := &reqState{}
	st.rw.Server = []string{"moat"}
	h := http.Header{"X-Powered-By": {"PHP"}, "Server": {"backend"}, "X-Keep": {"1"}}
	globalResponse(&routecfg.Global{HideHeaders: []string{"X-Powered-By"}}, st, h)
	if h.Get("X-Powered-By") != "" || h.Get("X-Keep") != "1" || st.rw.Server[0] != "moat" {
		t.Errorf("hide-headers: %v %v", h, st.rw.Server)
	}
	globalResponse(&routecfg.Global{AllowBackendServerHeader: true}, st, h)
	if st.rw.Server[0] != "backend" {
		t.Errorf("allow-backend-server-header: %v", st.rw.Server)
	}
	st.rw.Server = []string{"moat/1"}
	globalResponse(&routecfg.Global{AllowBackendServerHeader: true, ServerTokens: true}, st, h)
	if st.rw.Server[0] != "moat/1" {
		t.Errorf("with server-tokens the upstream's Server is not passed: %v", st.rw.Server)
	}
}
