package proxyprotocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
)

// FuzzConn feeds arbitrary bytes through a Conn: it never panics, a
// refused header yields no bytes and a counted reason, and an accepted
// one hands on exactly the bytes after it, with the addresses the
// library reads from the same input.
func FuzzConn(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte("PROXY TCP6 2001:db8::7 2001:db8::1 1000 80\r\n\x16\x03\x01"))
	f.Add([]byte("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nrest"))
	f.Add([]byte("PROXY TCP4 1.1.1.1 2.2.2.2 1 2\n"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	v2 := append([]byte{}, proxyproto.SIGV2...)
	f.Add(append(append([]byte{}, v2...), 0x21, 0x11, 0x00, 0x0c, 192, 0, 2, 1, 10, 0, 0, 1, 0x10, 0x00, 0x01, 0xbb, 'x'))
	f.Add(append(append([]byte{}, v2...), 0x21, 0x21, 0x00, 0x24))
	f.Add(append(append([]byte{}, v2...), 0x20, 0x00, 0x00, 0x03, 1, 2, 3, 'y'))
	f.Add(append(append([]byte{}, v2...), 0x21, 0x11, 0xff, 0xff))
	f.Fuzz(func(t *testing.T, data []byte) {
		var reasons []string
		r := New(Options{OnError: func(_, reason string) { reasons = append(reasons, reason) }})
		r.Set(true, 2*time.Second)
		a, b := net.Pipe()
		go func() {
			_, _ = b.Write(data)
			b.Close()
		}()
		c := r.NewConn(a, "fuzz")
		defer c.Close()
		got, err := io.ReadAll(c)

		ref, refErr := proxyproto.Read(bufio.NewReaderSize(bytes.NewReader(data), bufSize))
		var he *HeaderError
		if errors.As(err, &he) {
			if len(got) != 0 {
				t.Fatalf("%d bytes read past a refused header", len(got))
			}
			if len(reasons) != 1 || reasons[0] != he.Reason {
				t.Fatalf("reasons counted %v, error %v", reasons, he)
			}
			if refErr == nil && ref != nil {
				t.Fatalf("refused (%v) a header the library reads: %+v", err, ref)
			}
			return
		}
		if len(reasons) != 0 {
			t.Fatalf("reasons %v counted without a header error (%v)", reasons, err)
		}
		if len(data) == 0 {
			// Closed before a byte: an uncounted end of stream.
			if len(got) != 0 || c.Header() != io.EOF {
				t.Fatalf("empty input: %q, %v", got, c.Header())
			}
			return
		}
		if err != nil {
			t.Fatalf("error %v on non-empty input", err)
		}
		if refErr != nil {
			t.Fatalf("accepted a header the library refuses: %v", refErr)
		}
		if !bytes.HasSuffix(data, got) || len(got) >= len(data) {
			t.Fatalf("bytes after the header are not a proper suffix of the input")
		}
		src, dst, ok := c.Addresses()
		if ok {
			if !src.IsValid() || !dst.IsValid() || c.RemoteAddr().String() != src.String() {
				t.Fatalf("addresses %v %v, RemoteAddr %v", src, dst, c.RemoteAddr())
			}
		} else if c.RemoteAddr() != c.Peer() {
			t.Fatalf("RemoteAddr %v without header addresses, peer %v", c.RemoteAddr(), c.Peer())
		}
	})
}
