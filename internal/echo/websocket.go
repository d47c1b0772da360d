package echo

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// A minimal RFC 6455 server: enough to echo text and binary messages
// (fragmented or not), answer pings and complete the closing handshake.
// No extensions (permessage-deflate is not negotiated) and no subprotocols.

// websocketGUID is the fixed string of RFC 6455 §1.3.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxMessage bounds a reassembled message; larger ones are closed with
// 1009 (RFC 6455 §7.4.1).
const maxMessage = 1 << 20

// lingerTimeout and lingerLimit bound how long and how much a closing
// connection keeps reading so the peer can take its Close frame.
const (
	lingerTimeout = time.Second
	lingerLimit   = 4 * maxMessage
)

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close codes, RFC 6455 §7.4.1.
const (
	closeNormal        = 1000
	closeGoingAway     = 1001
	closeProtocolError = 1002
	closeInvalidData   = 1007
	closeTooBig        = 1009
)

// AcceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key
// (RFC 6455 §4.2.2): base64(SHA-1(key + GUID)).
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func isWebSocketUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

// headerHasToken reports whether a comma-separated header lists token,
// case-insensitively ("Connection: keep-alive, Upgrade").
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (h *handler) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	// RFC 6455 §4.2.1: GET, version 13, a key of 16 base64-encoded bytes.
	if r.Method != http.MethodGet {
		http.Error(w, "websocket: the opening handshake must be a GET", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		// §4.4: name the versions we speak.
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "websocket: unsupported Sec-WebSocket-Version", http.StatusUpgradeRequired)
		return
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		http.Error(w, "websocket: bad Sec-WebSocket-Key", http.StatusBadRequest)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 cannot be hijacked; RFC 8441 is not implemented.
		http.Error(w, "websocket: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Time{}) // the server's header deadline no longer applies

	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s: %s\r\n\r\n",
		AcceptKey(key), NameHeader, sanitizeHeaderValue(h.name))
	if err := brw.Flush(); err != nil {
		return
	}
	c := &wsConn{conn: conn, r: brw.Reader}
	if !h.track(c) {
		c.close(closeGoingAway)
		return
	}
	defer h.untrack(c)
	c.echo()
}

// sanitizeHeaderValue keeps a user-chosen name from splitting the
// hand-written 101 response.
func sanitizeHeaderValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

func (h *handler) track(c *wsConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.conns[c] = struct{}{}
	return true
}

func (h *handler) untrack(c *wsConn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// goAway closes every WebSocket connection with 1001 on server shutdown:
// http.Server.Shutdown does not track hijacked connections.
func (h *handler) goAway() {
	h.mu.Lock()
	h.closing = true
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	// In parallel: each close may linger for its peer's Close reply.
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.close(closeGoingAway) })
	}
	wg.Wait()
}

// wsConn is the server side of one WebSocket connection.
type wsConn struct {
	conn net.Conn
	r    *bufio.Reader
	wmu  sync.Mutex // the echo loop and goAway both write
	once sync.Once  // one Close frame per connection
}

func (c *wsConn) write(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return writeFrame(c.conn, op, payload, false)
}

// close sends a Close frame with code and closes the connection; the
// server closes TCP first (RFC 6455 §7.1.1). It half-closes and discards
// what the peer is still sending for a moment before closing: closing with
// unread data makes the kernel answer with a reset, which can destroy the
// Close frame before the peer reads it (a rejected oversized message is
// typically still arriving).
func (c *wsConn) close(code uint16) {
	c.once.Do(func() {
		c.write(opClose, closePayload(code))
		if hc, ok := c.conn.(interface{ CloseWrite() error }); ok && hc.CloseWrite() == nil {
			c.conn.SetReadDeadline(time.Now().Add(lingerTimeout))
			io.Copy(io.Discard, io.LimitReader(c.conn, lingerLimit))
		}
		c.conn.Close()
	})
}

func closePayload(code uint16) []byte {
	return binary.BigEndian.AppendUint16(nil, code)
}

// echo reads messages and writes each back as one frame until the peer
// closes or breaks the protocol.
func (c *wsConn) echo() {
	var (
		msgOp byte // opText or opBinary while a fragmented message is open
		msg   []byte
	)
	for {
		f, err := readFrame(c.r, true, maxMessage-len(msg))
		if err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				c.close(pe.code)
			}
			return
		}
		switch f.op {
		case opText, opBinary:
			if msgOp != 0 {
				c.close(closeProtocolError) // §5.4: a new message inside a fragmented one
				return
			}
			if !f.fin {
				msgOp, msg = f.op, append(msg[:0], f.payload...)
				continue
			}
			if !c.send(f.op, f.payload) {
				return
			}
		case opContinuation:
			if msgOp == 0 {
				c.close(closeProtocolError)
				return
			}
			msg = append(msg, f.payload...)
			if f.fin {
				op := msgOp
				msgOp = 0
				if !c.send(op, msg) {
					return
				}
				msg = msg[:0]
			}
		case opPing:
			if c.write(opPong, f.payload) != nil {
				return
			}
		case opPong:
			// Unsolicited pongs are allowed and ignored (§5.5.3).
		case opClose:
			c.close(replyCode(f.payload))
			return
		}
	}
}

// send echoes one message; invalid UTF-8 in text closes with 1007 (§8.1).
func (c *wsConn) send(op byte, payload []byte) bool {
	if op == opText && !utf8.Valid(payload) {
		c.close(closeInvalidData)
		return false
	}
	return c.write(op, payload) == nil
}

// replyCode picks the status code for the Close reply: the peer's own code
// echoed back (§5.5.1), 1000 for an empty Close, and 1002 or 1007 for a
// malformed one.
func replyCode(p []byte) uint16 {
	switch {
	case len(p) == 0:
		return closeNormal
	case len(p) == 1:
		return closeProtocolError
	case !utf8.Valid(p[2:]):
		return closeInvalidData
	}
	code := binary.BigEndian.Uint16(p)
	// §7.4: 1004-1006 and 1015 must not be sent; below 1000 and 1012-2999
	// are unassigned or reserved for future RFCs.
	if (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999) {
		return code
	}
	return closeProtocolError
}

type frame struct {
	fin     bool
	op      byte
	payload []byte
}

type protocolError struct {
	code uint16
	msg  string
}

func (e *protocolError) Error() string { return fmt.Sprintf("websocket: %s (close %d)", e.msg, e.code) }

// readFrame reads one frame (RFC 6455 §5.2). A server requires masked
// frames and a client unmasked ones (§5.1). limit bounds a data frame's
// payload; control frames are at most 125 bytes anyway.
func readFrame(r io.Reader, wantMasked bool, limit int) (frame, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return frame{}, err
	}
	f := frame{fin: hdr[0]&0x80 != 0, op: hdr[0] & 0x0f}
	if hdr[0]&0x70 != 0 {
		return f, &protocolError{closeProtocolError, "reserved bits set without an extension"}
	}
	switch f.op {
	case opContinuation, opText, opBinary:
	case opClose, opPing, opPong:
		if !f.fin || hdr[1]&0x7f > 125 {
			return f, &protocolError{closeProtocolError, "fragmented or oversized control frame"}
		}
	default:
		return f, &protocolError{closeProtocolError, fmt.Sprintf("unknown opcode %#x", f.op)}
	}
	if masked := hdr[1]&0x80 != 0; masked != wantMasked {
		return f, &protocolError{closeProtocolError, "wrong masking"}
	}
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if f.op < opClose && n > uint64(limit) {
		return f, &protocolError{closeTooBig, "message too big"}
	}
	var mask [4]byte
	if wantMasked {
		if _, err := io.ReadFull(r, mask[:]); err != nil {
			return f, err
		}
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.payload); err != nil {
		return f, err
	}
	if wantMasked {
		for i := range f.payload {
			f.payload[i] ^= mask[i&3]
		}
	}
	return f, nil
}

// writeFrame writes payload as one final frame; clients must mask
// (§5.3) with a fresh unpredictable key.
func writeFrame(w io.Writer, op byte, payload []byte, mask bool) error {
	return writeFragment(w, true, op, payload, mask)
}

func writeFragment(w io.Writer, fin bool, op byte, payload []byte, mask bool) error {
	buf := make([]byte, 0, 14+len(payload))
	b0 := op
	if fin {
		b0 |= 0x80
	}
	buf = append(buf, b0)
	var m byte
	if mask {
		m = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		buf = append(buf, m|byte(n))
	case n <= 0xffff:
		buf = append(buf, m|126)
		buf = binary.BigEndian.AppendUint16(buf, uint16(n))
	default:
		buf = append(buf, m|127)
		buf = binary.BigEndian.AppendUint64(buf, uint64(n))
	}
	if !mask {
		buf = append(buf, payload...)
	} else {
		var key [4]byte
		rand.Read(key[:])
		buf = append(buf, key[:]...)
		for i, c := range payload {
			buf = append(buf, c^key[i&3])
		}
	}
	_, err := w.Write(buf)
	return err
}
