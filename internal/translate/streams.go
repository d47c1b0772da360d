package translate

import "github.com/moat-ingress/moat/internal/translate/streams"

// streams translates the tcp-services and udp-services ConfigMaps into
// t.Config.Streams and their pools.
func (t *translator) streams() {
	l := t.Opts.Listeners
	out, ds := streams.Translate(t.Snapshot, streams.Input{TCPServices: t.Opts.TCPServices, UDPServices: t.Opts.UDPServices,
		HTTP: l.HTTP, HTTPS: l.HTTPS, Admin: l.Admin, Debug: l.Debug, Settings: t.Ctrl.Stream}, t.Config.Pools)
	t.Config.Streams = out
	t.Diags = append(t.Diags, ds...)
}
