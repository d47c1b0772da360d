package policy

import (
	"github.com/moat-ingress/moat/internal/annotations/buffering"
	"github.com/moat-ingress/moat/internal/routecfg"
)

// TrafficDefaults are the controller-wide traffic settings: the controller
// ConfigMap's keys over ingress-nginx's defaults.
func (t *Extractor) TrafficDefaults() *routecfg.TrafficDefaults {
	if t.defaults == nil {
		d := routecfg.DefaultTraffic()
		c := &t.Ctrl
		d.Body.MaxBytes = c.ProxyBodySize
		if c.ProxyConnectTimeout > 0 {
			d.Timeouts.Connect = c.ProxyConnectTimeout
		}
		d.Timeouts.Read, d.Timeouts.Send = c.ProxyReadTimeout, c.ProxySendTimeout
		d.Timeouts.Next, d.Timeouts.Tries, d.Timeouts.NextTimeout = c.ProxyNextUpstream, c.ProxyNextUpstreamTries, c.ProxyNextUpstreamTimeout
		if c.RetryNonIdempotent && d.Timeouts.Next != 0 {
			d.Timeouts.Next |= routecfg.NextNonIdempotent
		}
		d.Body.ResponseBuffering, d.Body.RequestBuffering = c.ProxyBuffering, c.ProxyRequestBuffering
		d.Body.BufferBytes = c.ClientBodyBufferSize
		d.Body.ResponseHeaderMax, d.Body.BuffersNumber, d.Body.MaxTempFile = c.ProxyBufferSize, c.ProxyBuffersNumber, c.ProxyMaxTempFileSize
		d.Body.ResponseBuffers = buffering.ReadAhead(c.ProxyBuffersNumber, c.ProxyBufferSize)
		d.Balance = c.LoadBalance
		if c.LimitReqStatusCode != 0 {
			d.LimitReqStatus = c.LimitReqStatusCode
		}
		if c.LimitConnStatusCode != 0 {
			d.LimitConnStatus = c.LimitConnStatusCode
		}
		t.defaults = &d
	}
	return t.defaults
}
