package proxy

import (
	"runtime/debug"

	"github.com/moat-ingress/moat/internal/routecfg/global"
)

// serverHeader is the Server header of every response moat writes or
// proxies. nginx always sends one ("nginx", with server_tokens on
// "nginx/1.x"), but ingress-nginx's default server-tokens false also
// clears it (more_clear_headers Server), so its responses carry none.
// moat keeps the header because the Kubernetes Ingress conformance suite
// requires it (default_backend.feature), and honours server-tokens the
// way nginx's server_tokens does: off names the software only, on adds
// the version. The upstream's own Server is replaced, as nginx's default
// proxy_hide_header Server does.
type serverHeader struct {
	off, on []string
}

func newServerHeader(version string) serverHeader {
	if version == "" {
		version = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
	}
	return serverHeader{off: []string{"moat"}, on: []string{"moat/" + version}}
}

// value is the header for a request under g (nil: ingress-nginx's
// defaults, server-tokens off).
func (s serverHeader) value(g *global.Settings) []string {
	if g != nil && g.ServerTokens {
		return s.on
	}
	return s.off
}

// setServer puts the Server header on a final response about to be
// written.
func (rw *responseWriter) setServer() {
	if rw.server != nil {
		rw.w.Header()["Server"] = rw.server
	}
}
