package certs

// NameTable maps host names to values with SNI semantics: exact names,
// then "*.suffix" wildcards covering one label. Build it with Add, then
// only read it; Lookup does not allocate.
type NameTable[T any] struct {
	exact, wildcard map[string]T
}

// Add maps host ("foo.com" or "*.foo.com") to v; the first value for a
// host wins. The catch-all ("") is ignored.
func (n *NameTable[T]) Add(host string, v T) {
	key, wild, ok := hostKey(host)
	if !ok {
		return
	}
	if n.exact == nil {
		n.exact, n.wildcard = map[string]T{}, map[string]T{}
	}
	m := n.exact
	if wild {
		m = n.wildcard
	}
	if _, dup := m[key]; !dup {
		m[key] = v
	}
}

// Lookup returns the value for a server name.
func (n *NameTable[T]) Lookup(serverName string) (T, bool) {
	return lookup(n.exact, n.wildcard, serverName)
}

// LookupAnyDepth is Lookup with Gateway API wildcards: "*.foo.com" also
// covers "a.bar.foo.com", the longest covering wildcard first.
func (n *NameTable[T]) LookupAnyDepth(serverName string) (T, bool) {
	var zero T
	if serverName == "" || len(serverName) > maxNameLen || n.Len() == 0 {
		return zero, false
	}
	var buf [maxNameLen]byte
	b := lowerName(buf[:len(serverName)], serverName)
	if c, ok := n.exact[string(b)]; ok && len(b) > 0 {
		return c, true
	}
	for i, c := range b {
		if c == '.' && i > 0 && i+1 < len(b) && b[i-1] != '.' {
			if v, ok := n.wildcard[string(b[i+1:])]; ok {
				return v, true
			}
		}
	}
	return zero, false
}

// Len is the number of hosts.
func (n *NameTable[T]) Len() int { return len(n.exact) + len(n.wildcard) }
