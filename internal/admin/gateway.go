package admin

import (
	"net/http"

	"github.com/moat-ingress/moat/internal/store"
)

// SetGatewayStatus serves /debug/gateway: f renders the Gateway API
// status moat computes for a snapshot (translate.GatewayStatus), the same
// one the leader writes in cluster mode. Set before Handler is called.
func (s *Server) SetGatewayStatus(f func(*store.Snapshot) string) { s.gatewayStatus = f }

func (s *Server) gateway(w http.ResponseWriter, _ *http.Request) {
	r := s.last.Load()
	if r == nil || r.Snapshot == nil {
		http.Error(w, "no configuration yet", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.gatewayStatus == nil {
		_, _ = w.Write([]byte("Gateway API status is not computed in this mode\n"))
		return
	}
	_, _ = w.Write([]byte(s.gatewayStatus(r.Snapshot)))
}
