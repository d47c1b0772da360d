package proxy

import (
	"net/http"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg/global"
)

func TestGlobalResponse(t *testing.T) {
	st := &reqState{}
	st.rw.Server = []string{"moat"}
	h := http.Header{"X-Powered-By": {"PHP"}, "Server": {"backend"}, "X-Keep": {"1"}}
	globalResponse(&global.Settings{HideHeaders: []string{"X-Powered-By"}}, st, h)
	if h.Get("X-Powered-By") != "" || h.Get("X-Keep") != "1" || st.rw.Server[0] != "moat" {
		t.Errorf("hide-headers: %v %v", h, st.rw.Server)
	}
	globalResponse(&global.Settings{AllowBackendServerHeader: true}, st, h)
	if st.rw.Server[0] != "backend" {
		t.Errorf("allow-backend-server-header: %v", st.rw.Server)
	}
	st.rw.Server = []string{"moat/1"}
	globalResponse(&global.Settings{AllowBackendServerHeader: true, ServerTokens: true}, st, h)
	if st.rw.Server[0] != "moat/1" {
		t.Errorf("with server-tokens the upstream's Server is not passed: %v", st.rw.Server)
	}
}
