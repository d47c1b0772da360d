package translate

import (
	"github.com/moat-ingress/moat/internal/controllerconfig"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// serverTLS is the HTTPS listener policy from the controller ConfigMap. It
// travels in the Config, so a ConfigMap change applies to the next
// handshake without restarting the listener.
func serverTLS(c *controllerconfig.Config) *routecfg.ServerTLS {
	p := routecfg.DefaultServerTLS()
	if c.TLSMinVersion != 0 {
		p.MinVersion, p.MaxVersion = c.TLSMinVersion, c.TLSMaxVersion
	}
	if c.SSLCipherSuites != nil {
		p.CipherSuites = c.SSLCipherSuites
	}
	// Go has no server-side session cache: moat resumes sessions with
	// tickets it seals under its own rotating keys, which never leave the
	// process, so ssl-session-cache (on by default) turns them on as
	// ssl-session-tickets does. Resumption is off only when both are off.
	p.SessionTickets = c.SSLSessionCache || c.SSLSessionTickets
	if c.SSLSessionTimeout > 0 {
		p.SessionTimeout = c.SSLSessionTimeout
	}
	p.DisableHTTP2 = !c.UseHTTP2
	p.RejectUnknownSNI = c.SSLRejectHandshake
	return p
}
