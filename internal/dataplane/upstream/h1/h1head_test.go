package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// TestWriteHeadMatchesRequestWrite: the hand-written head says what
// http.Request.Write says, as a server parses it.
func TestWriteHeadMatchesRequestWrite(t *testing.T) {
	mk := func(method, target string, edit func(*http.Request)) *http.Request {
		r, err := http.NewRequest(method, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(r)
		}
		return r
	}
	reqs := []*http.Request{
		mk("GET", "http://10.0.0.1:8080/", nil),
		mk("GET", "http://10.0.0.1:8080/a/b?x=1&y=%20", func(r *http.Request) {
			r.Host = "example.com"
			r.Header["X-Multi"] = []string{"one", "  two  "}
			r.Header["X-Empty"] = []string{""}
			r.Header["User-Agent"] = []string{" curl/8 "}
		}),
		mk("HEAD", "http://10.0.0.1/p%2Fq?", func(r *http.Request) { r.Header["User-Agent"] = []string{""} }),
		mk("DELETE", "http://10.0.0.1/x", func(r *http.Request) { r.Close = true }),
		mk("POST", "http://10.0.0.1/x", func(r *http.Request) { r.Header.Set("Connection", "close"); r.Close = true }),
		mk("OPTIONS", "http://10.0.0.1/x", func(r *http.Request) { r.URL.ForceQuery = true }),
		mk("GET", "http://10.0.0.1/x", func(r *http.Request) { r.Host = "[fe80::1%25eth0]:80" }),
		mk("GET", "http://10.0.0.1/x", func(r *http.Request) { r.Host = "bad host/" }),
		mk("GET", "http://10.0.0.1/x", func(r *http.Request) { r.Host = "bücher.example" }),
		mk("GET", "http://10.0.0.1/x", func(r *http.Request) {
			r.URL = &url.URL{Scheme: "http", Host: "10.0.0.1", Path: "/a b", RawPath: ""}
		}),
	}
	for _, r := range reqs {
		var want, got bytes.Buffer
		if err := r.Write(&want); err != nil {
			t.Fatal(err)
		}
		bw := bufio.NewWriter(&got)
		if err := writeHead(bw, r); err != nil {
			t.Fatal(err)
		}
		bw.Flush()
		wantS, gotS := want.String(), got.String()
		w, err1 := http.ReadRequest(bufio.NewReader(&want))
		g, err2 := http.ReadRequest(bufio.NewReader(&got))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s %s: parse: %v / %v\n%s\n%s", r.Method, r.URL, err1, err2, wantS, gotS)
		}
		if w.Method != g.Method || w.RequestURI != g.RequestURI || w.Host != g.Host || w.Close != g.Close ||
			w.ContentLength != g.ContentLength || !reflect.DeepEqual(w.Header, g.Header) {
			t.Errorf("%s %s:\nRequest.Write:\n%s\nwriteHead:\n%s", r.Method, r.URL, wantS, gotS)
		}
	}
}

func TestWriteHeadRefusesControlBytes(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://10.0.0.1/x", nil)
	r.URL.RawQuery = "a=\n1"
	if err := writeHead(bufio.NewWriter(&bytes.Buffer{}), r); err == nil {
		t.Error("control byte in the query was written")
	}
}
