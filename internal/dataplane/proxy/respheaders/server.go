package respheaders

import (
	"runtime/debug"

	"github.com/moat-ingress/moat/internal/routecfg/global"
)

// Server is the Server header of every response moat writes or
// proxies. nginx always sends one ("nginx", with server_tokens on
// "nginx/1.x"), but ingress-nginx's default server-tokens false also
// clears it (more_clear_headers Server), so its responses carry none.
// moat keeps the header because the Kubernetes Ingress conformance suite
// requires it (default_backend.feature), and honours server-tokens the
// way nginx's server_tokens does: off names the software only, on adds
// the version. The upstream's own Server is replaced, as nginx's default
// proxy_hide_header Server does.
type Server struct {
	off, on []string
}

// NewServer returns the values for version ("": the build's).
func NewServer(version string) Server {
	if version == "" {
		version = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
	}
	return Server{off: []string{"moat"}, on: []string{"moat/" + version}}
}

// Value is the header for a request under g (nil: ingress-nginx's
// defaults, server-tokens off).
func (s Server) Value(g *global.Settings) []string {
	if g != nil && g.ServerTokens {
		return s.on
	}
	return s.off
}
