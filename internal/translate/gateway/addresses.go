package gateway

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/translate/gateway/addrpool"
	"github.com/moat-ingress/moat/internal/translate/gateway/listener"
)

// Socket is one port of a Gateway that has an address of its own
// (Options.AddressPool): the hosts served there.
type Socket struct {
	// Gateway is "namespace/name".
	Gateway string
	Address netip.Addr
	Port    int32
	// TLS is set for HTTPS and TLS listeners (they may share a port,
	// told apart by SNI); else the port speaks plain HTTP.
	TLS   bool
	Hosts []*Host
	// DefaultCertificate is the certificate of an HTTPS listener without
	// hostname on this port, "" for none.
	DefaultCertificate string
}

// sockKey names the socket of listener l: its Gateway and port. A host
// key within it is sockKey + "\x00" + host.
func sockKey(l *listener.Listener) string {
	return l.GW.Namespace + "/" + l.GW.Name + "\x00" + strconv.Itoa(int(l.Spec.Port))
}

// hostKey is the key of host in t.hosts: the host itself on the shared
// listeners, prefixed with its socket when the Gateway has an address.
func (t *translator) hostKey(l *listener.Listener, host string) string {
	if t.sockets == nil {
		return host
	}
	return sockKey(l) + "\x00" + host
}

// hostName is the host name a t.hosts key stands for.
func hostName(key string) string {
	if i := strings.LastIndexByte(key, 0); i >= 0 {
		return key[i+1:]
	}
	return key
}

// assignAddresses gives each of our Gateways one address of the pool
// (addrpool), and opens the socket table.
func (t *translator) assignAddresses(gws []*gatewayv1.Gateway) {
	t.sockets = map[string]*Socket{}
	t.addrs, t.addrProblems = addrpool.Assign(t.opts.AddressPool, gws)
}

// addressStatus returns the status addresses of Gateway gw, or sets the
// condition that says why it has none (its listeners are then not
// served) and returns ok false.
func (t *translator) addressStatus(gw *gatewayv1.Gateway, ref diag.ObjectRef, accepted, programmed *metav1.Condition) (addrs []gatewayv1.GatewayStatusAddress, ok bool) {
	key := gw.Namespace + "/" + gw.Name
	gen := gw.Generation
	if p, bad := t.addrProblems[key]; bad {
		c := t.cond(p.Condition, p.Reason, p.Msg, false, gen)
		if p.Condition == "Accepted" {
			*accepted = c
			*programmed = t.cond("Programmed", "Invalid", p.Msg, false, gen)
		} else {
			*programmed = c
		}
		t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: p.Reason, Field: p.Field,
			Message: p.Msg + "; the Gateway is not served"})
		return nil, false
	}
	a, ok := t.addrs[key]
	if !ok {
		return nil, false
	}
	return []gatewayv1.GatewayStatusAddress{{Type: ptr(gatewayv1.IPAddressType), Value: a.String()}}, true
}

// openSockets registers the sockets of gw's served listeners, so that a
// port is open even before a route attaches to it.
func (t *translator) openSockets(gw *gatewayv1.Gateway, ls []*listener.Listener) {
	a, ok := t.addrs[gw.Namespace+"/"+gw.Name]
	if !ok {
		return
	}
	for _, l := range ls {
		if !l.OK {
			continue
		}
		k := sockKey(l)
		s, ok := t.sockets[k]
		if !ok {
			s = &Socket{Gateway: gw.Namespace + "/" + gw.Name, Address: a, Port: int32(l.Spec.Port),
				TLS: l.Spec.Protocol == gatewayv1.HTTPSProtocolType || l.Spec.Protocol == gatewayv1.TLSProtocolType}
			t.sockets[k] = s
		}
		if l.Hostname == "" && l.Cert != "" && s.DefaultCertificate == "" {
			s.DefaultCertificate = l.Cert
		}
	}
}

// finishSockets hands each host to its socket, in host order.
func (t *translator) finishSockets(keys []string) {
	for _, k := range keys {
		i := strings.LastIndexByte(k, 0)
		if s := t.sockets[k[:max(i, 0)]]; s != nil {
			s.Hosts = append(s.Hosts, t.hosts[k])
		}
	}
	for _, s := range t.sockets {
		t.out.Sockets = append(t.out.Sockets, s)
	}
	sort.Slice(t.out.Sockets, func(i, j int) bool {
		a, b := t.out.Sockets[i], t.out.Sockets[j]
		if a.Address != b.Address {
			return a.Address.Less(b.Address)
		}
		return a.Port < b.Port
	})
}
