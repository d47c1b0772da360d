package proxy

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg/global"
)

func TestDropUnderscoreHeaders(t *testing.T) {
	h := http.Header{"X_under": {"1"}, "X-Dash": {"2"}, "_": {"3"}}
	dropUnderscoreHeaders(h)
	if len(h) != 1 || h.Get("X-Dash") != "2" {
		t.Errorf("headers = %v", h)
	}
}

func TestGloballyLogged(t *testing.T) {
	skip, _ := global.NewStringMatch("/healthz")
	re, _ := global.NewStringMatch("~^/metrics")
	g := &global.Settings{SkipAccessLogURIs: []global.StringMatch{skip, re}}
	for uri, want := range map[string]bool{"/healthz": false, "/HEALTHZ": false, "/healthz?x=1": true, "/metrics/a": false, "/app": true} {
		if got := globallyLogged(g, httptest.NewRequest("GET", uri, nil)); got != want {
			t.Errorf("%s: logged %v, want %v", uri, got, want)
		}
	}
	if globallyLogged(&global.Settings{DisableAccessLog: true}, httptest.NewRequest("GET", "/", nil)) || !globallyLogged(nil, httptest.NewRequest("GET", "/", nil)) {
		t.Error("disable-access-log")
	}
}

func TestGlobalResponse(t *testing.T) {
	st := &reqState{}
	st.rw.server = []string{"moat"}
	h := http.Header{"X-Powered-By": {"PHP"}, "Server": {"backend"}, "X-Keep": {"1"}}
	globalResponse(&global.Settings{HideHeaders: []string{"X-Powered-By"}}, st, h)
	if h.Get("X-Powered-By") != "" || h.Get("X-Keep") != "1" || st.rw.server[0] != "moat" {
		t.Errorf("hide-headers: %v %v", h, st.rw.server)
	}
	globalResponse(&global.Settings{AllowBackendServerHeader: true}, st, h)
	if st.rw.server[0] != "backend" {
		t.Errorf("allow-backend-server-header: %v", st.rw.server)
	}
	st.rw.server = []string{"moat/1"}
	globalResponse(&global.Settings{AllowBackendServerHeader: true, ServerTokens: true}, st, h)
	if st.rw.server[0] != "moat/1" {
		t.Errorf("with server-tokens the upstream's Server is not passed: %v", st.rw.server)
	}
}
