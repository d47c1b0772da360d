package upstream

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRoundTripHTTP10(t *testing.T) {
	type seen struct {
		proto, conn, body string
		length            int64
		te                []string
	}
	got := make(chan seen, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Proto, r.Header.Get("Connection"), string(b), r.ContentLength, r.TransferEncoding}
		io.WriteString(w, "hello "+r.URL.RequestURI())
	}))
	defer srv.Close()

	r, _ := http.NewRequest("GET", srv.URL+"/a?b=c", nil)
	r.Close = true
	res, err := RoundTripHTTP10(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	s := <-got
	if s.proto != "HTTP/1.0" || s.conn != "close" || string(b) != "hello /a?b=c" {
		t.Errorf("backend saw %+v; response %q", s, b)
	}
	// An HTTP/1.1 server answers an HTTP/1.0 request without chunking:
	// the body is delimited by the connection's end.
	if res.ContentLength < 0 && len(res.TransferEncoding) > 0 {
		t.Errorf("chunked response to an HTTP/1.0 request: %v", res.TransferEncoding)
	}

	// A body of unknown length goes as Content-Length, never chunked.
	r, _ = http.NewRequest("POST", srv.URL+"/up", io.NopCloser(strings.NewReader("payload")))
	r.ContentLength = -1
	res, err = RoundTripHTTP10(r)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if s := <-got; s.body != "payload" || s.length != 7 || len(s.te) != 0 {
		t.Errorf("body as sent: %+v", s)
	}
}

func TestRoundTripHTTP10ClosesTheConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	eof := make(chan bool, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		// An HTTP/1.1 response with keep-alive: the client must still
		// close, as it asked for.
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		_, err = br.ReadByte()
		eof <- err == io.EOF
	}()
	r, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	r.Close = true
	res, err := RoundTripHTTP10(r)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(res.Body)
	res.Body.Close()
	if !<-eof {
		t.Error("the connection was not closed after the response")
	}
}
