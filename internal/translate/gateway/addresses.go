package gateway

import (
	"fmt"
	"hash/fnv"
	"math/big"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/moat-ingress/moat/internal/diag"
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

// addrProblem is why a Gateway gets no address.
type addrProblem struct {
	condition, reason, msg, field string
}

// sockKey names the socket of listener l: its Gateway and port. A host
// key within it is sockKey + "\x00" + host.
func sockKey(l *listener) string {
	return l.gw.Namespace + "/" + l.gw.Name + "\x00" + strconv.Itoa(int(l.l.Port))
}

// hostKey is the key of host in t.hosts: the host itself on the shared
// listeners, prefixed with its socket when the Gateway has an address.
func (t *translator) hostKey(l *listener, host string) string {
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

// poolHosts is the number of assignable addresses in p: all but the
// network address (and an IPv4 broadcast address) of a prefix wider
// than /31, capped so that the offset fits an int64.
func poolHosts(p netip.Prefix) (first netip.Addr, n int64) {
	bits := p.Addr().BitLen() - p.Bits()
	size := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	first = p.Masked().Addr()
	if bits >= 2 {
		first = first.Next()
		size.Sub(size, big.NewInt(1))
		if p.Addr().Is4() {
			size.Sub(size, big.NewInt(1))
		}
	}
	if !size.IsInt64() || size.Int64() > 1<<40 {
		return first, 1 << 40
	}
	return first, size.Int64()
}

// addrAt is first plus off.
func addrAt(first netip.Addr, off int64) netip.Addr {
	b := new(big.Int).SetBytes(first.AsSlice())
	b.Add(b, big.NewInt(off))
	buf := make([]byte, first.BitLen()/8)
	b.FillBytes(buf)
	a, _ := netip.AddrFromSlice(buf)
	return a
}

// assignAddresses gives each of our Gateways one address of the pool,
// stably: a requested IPAddress in spec.addresses first, then the address
// the Gateway's status already publishes (so it survives restarts and
// other Gateways' churn), then a hash of its namespace/name probed
// forward. Older Gateways choose first.
func (t *translator) assignAddresses(gws []*gatewayv1.Gateway) {
	pool := t.opts.AddressPool
	t.addrs = map[string]netip.Addr{}
	t.addrProblems = map[string]addrProblem{}
	t.sockets = map[string]*Socket{}
	gws = slices.Clone(gws)
	sort.SliceStable(gws, func(i, j int) bool {
		a, b := gws[i], gws[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	taken := map[netip.Addr]string{}
	take := func(key string, a netip.Addr) bool {
		if _, ok := taken[a]; ok || !pool.Contains(a) {
			return false
		}
		taken[a] = key
		t.addrs[key] = a
		return true
	}
	var rest []*gatewayv1.Gateway
	// Requested addresses.
	for _, gw := range gws {
		key := gw.Namespace + "/" + gw.Name
		requested := false
		for i, sa := range gw.Spec.Addresses {
			field := fmt.Sprintf("spec.addresses[%d]", i)
			if sa.Type != nil && *sa.Type != gatewayv1.IPAddressType {
				t.addrProblems[key] = addrProblem{"Accepted", "UnsupportedAddress", fmt.Sprintf("address type %s is not supported (IPAddress is)", *sa.Type), field + ".type"}
				break
			}
			if sa.Value == "" {
				continue // any address: assigned from the pool below
			}
			a, err := netip.ParseAddr(sa.Value)
			if err != nil {
				t.addrProblems[key] = addrProblem{"Accepted", "UnsupportedAddress", fmt.Sprintf("address %q is not an IP address", sa.Value), field + ".value"}
				break
			}
			if !pool.Contains(a) {
				// A well-formed address moat cannot use: accepted, not
				// programmed (GatewayStaticAddresses).
				t.addrProblems[key] = addrProblem{"Programmed", "AddressNotUsable", fmt.Sprintf("address %s is not in the pool %s (--gateway-address-pool)", a, pool), field + ".value"}
				break
			}
			requested = true
			if _, ok := t.addrs[key]; ok {
				continue // the first requested one is served
			}
			if !take(key, a) {
				t.addrProblems[key] = addrProblem{"Programmed", "AddressNotUsable", fmt.Sprintf("address %s is already Gateway %s's", a, taken[a]), field + ".value"}
				break
			}
		}
		if _, bad := t.addrProblems[key]; bad {
			delete(t.addrs, key)
			continue
		}
		if !requested {
			rest = append(rest, gw)
		}
	}
	// Published addresses, then hashed ones.
	var hashed []*gatewayv1.Gateway
	for _, gw := range rest {
		key := gw.Namespace + "/" + gw.Name
		kept := false
		for _, sa := range gw.Status.Addresses {
			if sa.Type != nil && *sa.Type != gatewayv1.IPAddressType {
				continue
			}
			if a, err := netip.ParseAddr(sa.Value); err == nil && take(key, a) {
				kept = true
				break
			}
		}
		if !kept {
			hashed = append(hashed, gw)
		}
	}
	first, n := poolHosts(pool)
	for _, gw := range hashed {
		key := gw.Namespace + "/" + gw.Name
		h := fnv.New64a()
		h.Write([]byte(key))
		off := int64(h.Sum64() % uint64(n))
		ok := false
		for i := int64(0); i < n && i <= int64(len(taken)); i++ {
			if take(key, addrAt(first, (off+i)%n)) {
				ok = true
				break
			}
		}
		if !ok {
			t.addrProblems[key] = addrProblem{"Programmed", "AddressNotAssigned", fmt.Sprintf("the pool %s (--gateway-address-pool) has no free address", pool), "spec"}
		}
	}
}

// addressStatus returns the status addresses of Gateway gw, or sets the
// condition that says why it has none (its listeners are then not
// served) and returns ok false.
func (t *translator) addressStatus(gw *gatewayv1.Gateway, ref diag.ObjectRef, accepted, programmed *metav1.Condition) (addrs []gatewayv1.GatewayStatusAddress, ok bool) {
	key := gw.Namespace + "/" + gw.Name
	gen := gw.Generation
	if p, bad := t.addrProblems[key]; bad {
		c := t.cond(p.condition, p.reason, p.msg, false, gen)
		if p.condition == "Accepted" {
			*accepted = c
			*programmed = t.cond("Programmed", "Invalid", p.msg, false, gen)
		} else {
			*programmed = c
		}
		t.add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: p.reason, Field: p.field,
			Message: p.msg + "; the Gateway is not served"})
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
func (t *translator) openSockets(gw *gatewayv1.Gateway, ls []*listener) {
	a, ok := t.addrs[gw.Namespace+"/"+gw.Name]
	if !ok {
		return
	}
	for _, l := range ls {
		if !l.ok {
			continue
		}
		k := sockKey(l)
		s, ok := t.sockets[k]
		if !ok {
			s = &Socket{Gateway: gw.Namespace + "/" + gw.Name, Address: a, Port: int32(l.l.Port),
				TLS: l.l.Protocol == gatewayv1.HTTPSProtocolType || l.l.Protocol == gatewayv1.TLSProtocolType}
			t.sockets[k] = s
		}
		if l.hostname == "" && l.cert != "" && s.DefaultCertificate == "" {
			s.DefaultCertificate = l.cert
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
