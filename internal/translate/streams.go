package translate

import "github.com/moat-ingress/moat/internal/translate/streams"

// streams translates the tcp-services and udp-services ConfigMaps into
// t.cfg.Streams and their pools.
func (t *translator) streams() {
	l := t.opts.Listeners
	out, ds := streams.Translate(t.sn, streams.Input{TCPServices: t.opts.TCPServices, UDPServices: t.opts.UDPServices,
		HTTP: l.HTTP, HTTPS: l.HTTPS, Admin: l.Admin, Debug: l.Debug, Settings: t.ctrl.Stream}, t.cfg.Pools)
	t.cfg.Streams = out
	t.diags = append(t.diags, ds...)
}
