package passthrough

import "errors"

// Limits of the ClientHello peek. A ClientHello is one handshake message,
// usually in one record; even with post-quantum key shares it is a few KiB.
const (
	maxHelloBytes = 16 << 10
	recordHeader  = 5
)

var (
	errNotTLS   = errors.New("not a TLS handshake record")
	errNeedMore = errors.New("ClientHello incomplete")
	errBadHello = errors.New("malformed ClientHello")
	errTooLarge = errors.New("ClientHello too large")
)

// ServerName parses the TLS records at the start of b (what a client sent
// first) and returns the ClientHello's SNI host name, "" when it has none.
// It returns errNeedMore when b ends before the ClientHello does; other
// errors mean the bytes are not a ClientHello moat can route by name.
func ServerName(b []byte) (string, error) {
	// Reassemble the handshake message from consecutive handshake records
	// (RFC 8446 §5.1 lets a ClientHello span records).
	var msg []byte
	need := -1
	for {
		if len(b) < recordHeader {
			return "", errNeedMore
		}
		if b[0] != 0x16 {
			return "", errNotTLS
		}
		if b[1] != 3 {
			return "", errNotTLS
		}
		n := int(b[3])<<8 | int(b[4])
		if n == 0 || n > 1<<14 {
			return "", errBadHello
		}
		if len(b) < recordHeader+n {
			return "", errNeedMore
		}
		msg = append(msg, b[recordHeader:recordHeader+n]...)
		b = b[recordHeader+n:]
		if need < 0 && len(msg) >= 4 {
			if msg[0] != 1 { // client_hello
				return "", errBadHello
			}
			need = 4 + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]))
			if need > maxHelloBytes {
				return "", errTooLarge
			}
		}
		if need >= 0 && len(msg) >= need {
			return parseHello(msg[4:need])
		}
	}
}

// parseHello reads a ClientHello body (RFC 8446 §4.1.2) up to its
// server_name extension (RFC 6066 §3).
func parseHello(b []byte) (string, error) {
	p := parser(b)
	if !p.skip(2 + 32) { // legacy_version, random
		return "", errBadHello
	}
	if !p.skipVec(1) || !p.skipVec(2) || !p.skipVec(1) { // session id, suites, compression
		return "", errBadHello
	}
	if len(p) == 0 {
		return "", nil // no extensions
	}
	exts, ok := p.vec(2)
	if !ok {
		return "", errBadHello
	}
	for len(exts) > 0 {
		typ, ok1 := exts.u16()
		data, ok2 := exts.vec(2)
		if !ok1 || !ok2 {
			return "", errBadHello
		}
		if typ != 0 {
			continue
		}
		list, ok := data.vec(2)
		if !ok {
			return "", errBadHello
		}
		for len(list) > 0 {
			if len(list) < 1 {
				return "", errBadHello
			}
			nameType := list[0]
			list = list[1:]
			name, ok := list.vec(2)
			if !ok {
				return "", errBadHello
			}
			if nameType == 0 {
				if len(name) == 0 {
					return "", errBadHello
				}
				return string(name), nil
			}
		}
		return "", nil
	}
	return "", nil
}

type parser []byte

func (p *parser) skip(n int) bool {
	if len(*p) < n {
		return false
	}
	*p = (*p)[n:]
	return true
}

func (p *parser) u16() (uint16, bool) {
	if len(*p) < 2 {
		return 0, false
	}
	v := uint16((*p)[0])<<8 | uint16((*p)[1])
	*p = (*p)[2:]
	return v, true
}

// vec reads a vector with a lenBytes-byte length prefix.
func (p *parser) vec(lenBytes int) (parser, bool) {
	if len(*p) < lenBytes {
		return nil, false
	}
	n := 0
	for i := 0; i < lenBytes; i++ {
		n = n<<8 | int((*p)[i])
	}
	if len(*p) < lenBytes+n {
		return nil, false
	}
	v := (*p)[lenBytes : lenBytes+n]
	*p = (*p)[lenBytes+n:]
	return v, true
}

func (p *parser) skipVec(lenBytes int) bool {
	_, ok := p.vec(lenBytes)
	return ok
}
