package proxy

import (
	"net/http"

	"github.com/moat-ingress/moat/internal/routecfg/global"
)

// globalResponse applies hide-headers and allow-backend-server-header to
// an upstream response, before the response-header families run.
func globalResponse(g *global.Settings, st *reqState, hdr http.Header) {
	for _, name := range g.HideHeaders {
		delete(hdr, name)
	}
	// nginx passes the upstream's Server only with server_tokens off.
	if g.AllowBackendServerHeader && !g.ServerTokens {
		if v := hdr["Server"]; len(v) > 0 {
			st.rw.Server = v
		}
	}
}
