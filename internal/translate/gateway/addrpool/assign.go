// Package addrpool assigns Gateways addresses of their own from the
// --gateway-address-pool prefix. It is separate from the Gateway
// translation because the choice is a function of the pool and the
// Gateways alone (no listeners, routes or status), and the stability
// rules are easier to read and test on their own.
package addrpool

import (
	"fmt"
	"hash/fnv"
	"math/big"
	"net/netip"
	"slices"
	"sort"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Problem is why a Gateway gets no address: the condition it sets
// False, with reason and message, and the field at fault.
type Problem struct {
	Condition, Reason, Msg, Field string
}

// Assign gives each of gws (our Gateways) one address of pool, stably:
// a requested IPAddress in spec.addresses first, then the address the
// Gateway's status already publishes (so it survives restarts and other
// Gateways' churn), then a hash of its namespace/name probed forward.
// Older Gateways choose first. It returns the addresses by
// "namespace/name", and why each Gateway that gets none does not.
func Assign(pool netip.Prefix, gws []*gatewayv1.Gateway) (addrs map[string]netip.Addr, problems map[string]Problem) {
	addrs = map[string]netip.Addr{}
	problems = map[string]Problem{}
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
		addrs[key] = a
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
				problems[key] = Problem{"Accepted", "UnsupportedAddress", fmt.Sprintf("address type %s is not supported (IPAddress is)", *sa.Type), field + ".type"}
				break
			}
			if sa.Value == "" {
				continue // any address: assigned from the pool below
			}
			a, err := netip.ParseAddr(sa.Value)
			if err != nil {
				problems[key] = Problem{"Accepted", "UnsupportedAddress", fmt.Sprintf("address %q is not an IP address", sa.Value), field + ".value"}
				break
			}
			if !pool.Contains(a) {
				// A well-formed address moat cannot use: accepted, not
				// programmed (GatewayStaticAddresses).
				problems[key] = Problem{"Programmed", "AddressNotUsable", fmt.Sprintf("address %s is not in the pool %s (--gateway-address-pool)", a, pool), field + ".value"}
				break
			}
			requested = true
			if _, ok := addrs[key]; ok {
				continue // the first requested one is served
			}
			if !take(key, a) {
				problems[key] = Problem{"Programmed", "AddressNotUsable", fmt.Sprintf("address %s is already Gateway %s's", a, taken[a]), field + ".value"}
				break
			}
		}
		if _, bad := problems[key]; bad {
			delete(addrs, key)
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
			problems[key] = Problem{"Programmed", "AddressNotAssigned", fmt.Sprintf("the pool %s (--gateway-address-pool) has no free address", pool), "spec"}
		}
	}
	return addrs, problems
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
