package echo

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// testWS is a raw RFC 6455 client on a real loopback connection.
type testWS struct {
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response
}

const testKey = "dGhlIHNhbXBsZSBub25jZQ==" // RFC 6455 §1.3's sample nonce

func dialWS(t *testing.T, addr, path string) *testWS {
	t.Helper()
	ws := handshakeWS(t, addr, fmt.Sprintf("GET %s HTTP/1.1\r\nHost: echo.test\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n", path, testKey))
	if ws.resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", ws.resp.StatusCode)
	}
	return ws
}

func handshakeWS(t *testing.T, addr, request string) *testWS {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &testWS{conn: conn, br: br, resp: resp}
}

func (ws *testWS) send(t *testing.T, fin bool, op byte, payload []byte) {
	t.Helper()
	if err := writeFragment(ws.conn, fin, op, payload, true); err != nil {
		t.Fatal(err)
	}
}

func (ws *testWS) read(t *testing.T) frame {
	t.Helper()
	f, err := readFrame(ws.br, false, 1<<30)
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	return f
}

// expectClose reads a Close frame with code, then EOF: the server closes
// the TCP connection after the closing handshake. A reset counts too: the
// server closes without reading the rest of an oversized message.
func (ws *testWS) expectClose(t *testing.T, code uint16) {
	t.Helper()
	f := ws.read(t)
	if f.op != opClose || len(f.payload) < 2 || binary.BigEndian.Uint16(f.payload) != code {
		t.Fatalf("got op %#x payload %x, want close %d", f.op, f.payload, code)
	}
	if _, err := ws.br.ReadByte(); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after close: %v, want EOF", err)
	}
}

func startWS(t *testing.T) string {
	srv := httptest.NewServer(Handler("ws"))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestAcceptKey(t *testing.T) {
	// RFC 6455 §1.3's worked example.
	if got := AcceptKey(testKey); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey = %q", got)
	}
}

func TestWebSocketHandshake(t *testing.T) {
	ws := dialWS(t, startWS(t), "/chat?x=1")
	h := ws.resp.Header
	if h.Get("Sec-WebSocket-Accept") != AcceptKey(testKey) || !strings.EqualFold(h.Get("Upgrade"), "websocket") ||
		!strings.EqualFold(h.Get("Connection"), "upgrade") || h.Get(NameHeader) != "ws" {
		t.Fatalf("101 headers: %v", h)
	}
}

func TestWebSocketBadHandshakes(t *testing.T) {
	addr := startWS(t)
	const upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	for _, tc := range []struct {
		name, req string
		status    int
	}{
		{"POST", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + upgrade + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + testKey + "\r\n\r\n", 405},
		{"old version", "GET / HTTP/1.1\r\nHost: x\r\n" + upgrade + "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: " + testKey + "\r\n\r\n", 426},
		{"no key", "GET / HTTP/1.1\r\nHost: x\r\n" + upgrade + "Sec-WebSocket-Version: 13\r\n\r\n", 400},
		{"short key", "GET / HTTP/1.1\r\nHost: x\r\n" + upgrade + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: YWJj\r\n\r\n", 400},
		{"no Connection: upgrade", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", 200}, // a plain request
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := handshakeWS(t, addr, tc.req)
			if ws.resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", ws.resp.StatusCode, tc.status)
			}
			if tc.status == 426 && ws.resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Error("426 without Sec-WebSocket-Version: 13")
			}
		})
	}
}

func TestWebSocketEcho(t *testing.T) {
	ws := dialWS(t, startWS(t), "/")
	expect := func(op byte, payload []byte) {
		t.Helper()
		f := ws.read(t)
		if f.op != op || !f.fin || !bytes.Equal(f.payload, payload) {
			t.Fatalf("got op %#x fin %v payload %q, want op %#x %q", f.op, f.fin, f.payload, op, payload)
		}
	}

	ws.send(t, true, opText, []byte("hello"))
	expect(opText, []byte("hello"))

	ws.send(t, true, opBinary, []byte{0, 1, 2, 0xff})
	expect(opBinary, []byte{0, 1, 2, 0xff})

	ws.send(t, true, opText, nil)
	expect(opText, []byte{})

	// 16-bit and 64-bit payload lengths.
	for _, n := range []int{126, 70000} {
		big := bytes.Repeat([]byte("x"), n)
		ws.send(t, true, opBinary, big)
		expect(opBinary, big)
	}

	ws.send(t, true, opPing, []byte("are you there"))
	expect(opPong, []byte("are you there"))

	ws.send(t, true, opPong, []byte("unsolicited")) // ignored

	// A fragmented message with a ping in between (§5.4 allows control
	// frames inside a fragmented message).
	ws.send(t, false, opText, []byte("frag"))
	ws.send(t, true, opPing, []byte("p"))
	expect(opPong, []byte("p"))
	ws.send(t, false, opContinuation, []byte("men"))
	ws.send(t, true, opContinuation, []byte("ted"))
	expect(opText, []byte("fragmented"))

	// A multi-byte rune split across fragments is valid once reassembled.
	ws.send(t, false, opText, []byte("caf\xc3"))
	ws.send(t, true, opContinuation, []byte("\xa9"))
	expect(opText, []byte("café"))

	close := binary.BigEndian.AppendUint16(nil, 4000)
	ws.send(t, true, opClose, append(close, "bye"...))
	ws.expectClose(t, 4000)
}

func TestWebSocketProtocolErrors(t *testing.T) {
	addr := startWS(t)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, ws *testWS)
		code uint16
	}{
		{"empty close", func(t *testing.T, ws *testWS) { ws.send(t, true, opClose, nil) }, closeNormal},
		{"unmasked frame", func(t *testing.T, ws *testWS) {
			writeFrame(ws.conn, opText, []byte("hi"), false)
		}, closeProtocolError},
		{"reserved bits", func(t *testing.T, ws *testWS) {
			ws.conn.Write([]byte{0x80 | 0x40 | opText, 0x80, 0, 0, 0, 0})
		}, closeProtocolError},
		{"unknown opcode", func(t *testing.T, ws *testWS) { ws.send(t, true, 0x3, nil) }, closeProtocolError},
		{"fragmented ping", func(t *testing.T, ws *testWS) { ws.send(t, false, opPing, nil) }, closeProtocolError},
		{"long ping", func(t *testing.T, ws *testWS) { ws.send(t, true, opPing, make([]byte, 126)) }, closeProtocolError},
		{"continuation without a start", func(t *testing.T, ws *testWS) { ws.send(t, true, opContinuation, []byte("x")) }, closeProtocolError},
		{"new message inside a fragmented one", func(t *testing.T, ws *testWS) {
			ws.send(t, false, opText, []byte("a"))
			ws.send(t, true, opText, []byte("b"))
		}, closeProtocolError},
		{"invalid UTF-8", func(t *testing.T, ws *testWS) { ws.send(t, true, opText, []byte{0xff, 0xfe}) }, closeInvalidData},
		{"too big", func(t *testing.T, ws *testWS) { ws.send(t, true, opBinary, make([]byte, maxMessage+1)) }, closeTooBig},
		{"too big in fragments", func(t *testing.T, ws *testWS) {
			ws.send(t, false, opBinary, make([]byte, maxMessage))
			ws.send(t, true, opContinuation, []byte("x"))
		}, closeTooBig},
		{"one-byte close", func(t *testing.T, ws *testWS) { ws.send(t, true, opClose, []byte{3}) }, closeProtocolError},
		{"reserved close code", func(t *testing.T, ws *testWS) { ws.send(t, true, opClose, closePayload(1005)) }, closeProtocolError},
		{"close reason not UTF-8", func(t *testing.T, ws *testWS) {
			ws.send(t, true, opClose, append(closePayload(1000), 0xff))
		}, closeInvalidData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := dialWS(t, addr, "/")
			tc.run(t, ws)
			ws.expectClose(t, tc.code)
		})
	}
}

// TestWebSocketInterop uses an independent client implementation.
func TestWebSocketInterop(t *testing.T) {
	addr := startWS(t)
	conn, err := websocket.Dial("ws://"+addr+"/interop", "", "http://origin.test/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, msg := range []string{"hello", strings.Repeat("long ", 20000)} {
		if err := websocket.Message.Send(conn, msg); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := websocket.Message.Receive(conn, &got); err != nil {
			t.Fatal(err)
		}
		if got != msg {
			t.Fatalf("got %d bytes, want %d", len(got), len(msg))
		}
	}
	bin := []byte{1, 2, 3}
	if err := websocket.Message.Send(conn, bin); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := websocket.Message.Receive(conn, &got); err != nil || !bytes.Equal(got, bin) {
		t.Fatalf("binary: %v %v", got, err)
	}
}
