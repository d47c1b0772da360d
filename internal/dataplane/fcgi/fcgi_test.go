package fcgi

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/fcgi"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
)

// app runs a real FastCGI responder (the standard library's) that answers
// with its CGI environment and body as JSON, or as told by ?status= and
// ?location=.
func app(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if loc := q.Get("location"); loc != "" {
			w.Header().Set("Location", loc)
			if q.Get("status") == "" {
				// A CGI redirect: Location without Status.
				w.Header().Set("Content-Type", "text/plain")
				w.Write([]byte("moved"))
				return
			}
		}
		if s := q.Get("status"); s != "" {
			var code int
			json.Unmarshal([]byte(s), &code)
			w.WriteHeader(code)
			return
		}
		body, _ := io.ReadAll(r.Body)
		env := fcgi.ProcessEnv(r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-App", "fcgi")
		json.NewEncoder(w).Encode(map[string]any{"env": env, "body": string(body), "method": r.Method, "uri": r.URL.RequestURI(),
			"header": r.Header, "host": r.Host, "remote": r.RemoteAddr, "tls": r.TLS != nil, "length": r.ContentLength})
	}))
	return ln.Addr().String()
}

// answer is what app saw. net/http/fcgi turns the standard CGI
// parameters into the request's fields and leaves the others in Env.
type answer struct {
	Env    map[string]string
	Body   string
	Method string
	URI    string
	Header http.Header
	Host   string
	Remote string
	TLS    bool
	Length int64
}

func roundTrip(t *testing.T, tr *Transport, r *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := tr.RoundTrip(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func TestRequestParamsAndBody(t *testing.T) {
	addr := app(t)
	script := vartemplate.Template{{Literal: "/srv"}, {Var: "fastcgi_script_name"}}
	lit := func(s string) vartemplate.Template { return vartemplate.Template{{Literal: s}} }
	tr := New(routecfg.FastCGI{Index: "index.php", Params: []routecfg.FastCGIParam{
		{Name: "SCRIPT_FILENAME", Value: script},
		{Name: "APP_ENV", Value: lit("production")},
		{Name: "SERVER_SOFTWARE", Value: lit("overridden")},
	}}, nil, nil)

	r, _ := http.NewRequest("POST", "http://"+addr+"/shop/?item=7", strings.NewReader("a=1&b=2"))
	r.Host = "shop.example"
	r.RemoteAddr = "10.0.0.9:5555"
	r.TLS = &tls.ConnectionState{}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Trace", "abc")
	r.Header.Set("Proxy", "http://evil.example")
	r.Header.Set("X-Real-Ip", "192.0.2.1")
	res, b := roundTrip(t, tr, r)
	if res.StatusCode != 200 || res.Header.Get("X-App") != "fcgi" {
		t.Fatalf("status %d, header %v", res.StatusCode, res.Header)
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if a.Method != "POST" || a.URI != "/shop/?item=7" || a.Host != "shop.example" || a.Remote != "192.0.2.1:5555" || !a.TLS || a.Length != 7 {
		t.Errorf("request as the application saw it: %+v", a)
	}
	if a.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || a.Header.Get("X-Trace") != "abc" {
		t.Errorf("headers: %v", a.Header)
	}
	want := map[string]string{
		"DOCUMENT_URI":      "/shop/",
		"DOCUMENT_ROOT":     "/etc/nginx/html",
		"SCRIPT_FILENAME":   "/srv/shop/index.php",
		"REQUEST_SCHEME":    "https",
		"APP_ENV":           "production",
		"SERVER_SOFTWARE":   "overridden",
		"REDIRECT_STATUS":   "200",
		"GATEWAY_INTERFACE": "CGI/1.1",
	}
	for k, v := range want {
		if a.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, a.Env[k], v)
		}
	}
	// SCRIPT_NAME is consumed by net/http/cgi; check the parameter itself.
	for _, p := range tr.params(r, 7, nil) {
		if p[0] == "SCRIPT_NAME" && p[1] != "/shop/index.php" {
			t.Errorf("SCRIPT_NAME = %q, want /shop/index.php", p[1])
		}
	}
	if _, ok := a.Env["HTTP_PROXY"]; ok {
		t.Error("the client's Proxy header reached the application as HTTP_PROXY")
	}
	if a.Body != "a=1&b=2" {
		t.Errorf("body %q", a.Body)
	}
}

func TestChunkedBodyGetsAContentLength(t *testing.T) {
	addr := app(t)
	tr := New(routecfg.FastCGI{}, nil, nil)
	big := strings.Repeat("x", 200<<10) // several STDIN records
	r, _ := http.NewRequest("PUT", "http://"+addr+"/up", io.NopCloser(strings.NewReader(big)))
	r.ContentLength = -1
	_, b := roundTrip(t, tr, r)
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if a.Length != int64(len(big)) || len(a.Body) != len(big) {
		t.Errorf("CONTENT_LENGTH %d, body %d bytes", a.Length, len(a.Body))
	}
}

func TestStatusAndRedirects(t *testing.T) {
	addr := app(t)
	tr := New(routecfg.FastCGI{}, nil, nil)
	for _, tc := range []struct {
		query    string
		status   int
		location string
	}{
		{"status=404", 404, ""},
		{"status=503", 503, ""},
		{"location=/next&status=301", 301, "/next"},
	} {
		r, _ := http.NewRequest("GET", "http://"+addr+"/x?"+tc.query, nil)
		res, _ := roundTrip(t, tr, r)
		if res.StatusCode != tc.status || res.Header.Get("Location") != tc.location {
			t.Errorf("%s: %d %q, want %d %q", tc.query, res.StatusCode, res.Header.Get("Location"), tc.status, tc.location)
		}
		if res.Header.Get("Status") != "" {
			t.Errorf("%s: the CGI Status header reached the client", tc.query)
		}
	}
}

// rawApp answers every connection with stdout and stderr as given, in
// records, after reading the request.
func rawApp(t *testing.T, stdout, stderr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sr := &stdoutReader{br: bufio.NewReader(c)}
				// Read records up to the empty STDIN that ends the request.
				for {
					var h [8]byte
					if _, err := io.ReadFull(sr.br, h[:]); err != nil {
						return
					}
					n := int(h[4])<<8 | int(h[5])
					sr.br.Discard(n + int(h[6]))
					if h[1] == typeStdin && n == 0 {
						break
					}
				}
				w := bufio.NewWriter(c)
				if stderr != "" {
					writeRecord(w, typeStderr, []byte(stderr))
				}
				writeStream(w, typeStdout, []byte(stdout))
				writeRecord(w, typeEndRequest, make([]byte, 8))
				w.Flush()
			}()
		}
	}()
	return ln.Addr().String()
}

func TestCGIRedirectAndStderr(t *testing.T) {
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	addr := rawApp(t, "Location: https://elsewhere.example/\r\nContent-Type: text/plain\r\n\r\nmoved", "PHP Notice: undefined index")
	r, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	res, b := roundTrip(t, New(routecfg.FastCGI{}, nil, logger), r)
	if res.StatusCode != 302 || res.Header.Get("Location") != "https://elsewhere.example/" || string(b) != "moved" {
		t.Errorf("Location without Status: %d %v %q, want 302", res.StatusCode, res.Header, b)
	}
	if !strings.Contains(logs.String(), "PHP Notice: undefined index") {
		t.Errorf("stderr not logged: %q", logs.String())
	}
	addr = rawApp(t, "Status: 200 OK\nX-Powered-By: PHP\n\n", "")
	r, _ = http.NewRequest("GET", "http://"+addr+"/", nil)
	if res, b := roundTrip(t, New(routecfg.FastCGI{}, nil, nil), r); res.StatusCode != 200 || len(b) != 0 || res.Header.Get("X-Powered-By") != "PHP" {
		t.Errorf("bare-LF head with empty body: %d %v %q", res.StatusCode, res.Header, b)
	}
	addr = rawApp(t, "Content-Type: text/html\r\n", "")
	r, _ = http.NewRequest("GET", "http://"+addr+"/", nil)
	if _, err := New(routecfg.FastCGI{}, nil, nil).RoundTrip(r); err == nil {
		t.Error("a head without its blank line is not an error")
	}
}

func TestLargeResponseStreams(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	body := strings.Repeat("0123456789", 50000)
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	r, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	res, b := roundTrip(t, New(routecfg.FastCGI{}, nil, nil), r)
	if res.StatusCode != 200 || string(b) != body {
		t.Errorf("status %d, %d bytes, want %d", res.StatusCode, len(b), len(body))
	}
}

func TestApplicationThatDiesIsAnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.ReadFull(c, make([]byte, 8))
			c.Close()
		}
	}()
	r, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/", nil)
	if _, err := New(routecfg.FastCGI{}, nil, nil).RoundTrip(r); err == nil {
		t.Fatal("no error from an application that closed the connection")
	}
}

func TestCanceledRequestClosesTheConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted, closed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(closed)
		c, err := ln.Accept()
		close(accepted)
		if err != nil {
			return
		}
		io.Copy(io.Discard, c) // never answers; returns when moat closes
	}()
	ctx, cancel := context.WithCancel(context.Background())
	r, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ln.Addr().String()+"/", nil)
	errc := make(chan error, 1)
	go func() {
		_, err := New(routecfg.FastCGI{}, nil, nil).RoundTrip(r)
		errc <- err
	}()
	<-accepted
	cancel()
	if err := <-errc; err == nil {
		t.Error("no error after cancel")
	}
	<-closed
}

func TestVariables(t *testing.T) {
	for _, name := range vartemplate.FastCGIVars {
		if variables[name] == nil {
			t.Errorf("vartemplate.FastCGIVars has $%s, which fcgi does not evaluate", name)
		}
	}
	if len(variables) != len(vartemplate.FastCGIVars) {
		t.Errorf("fcgi evaluates %d variables, vartemplate.FastCGIVars lists %d", len(variables), len(vartemplate.FastCGIVars))
	}
	r, _ := http.NewRequest("GET", "http://shop.example:8080/a/?q=1", nil)
	r.RemoteAddr = "10.1.2.3:4444"
	v := varsFor(r, "index.php", 0, nil)
	for _, tc := range []struct {
		t    vartemplate.Template
		want string
	}{
		{vartemplate.Template{{Var: "document_root"}, {Var: "fastcgi_script_name"}}, "/etc/nginx/html/a/index.php"},
		{vartemplate.Template{{Var: "uri"}, {Var: "is_args"}, {Var: "args"}}, "/a/?q=1"},
		{vartemplate.Template{{Literal: "host="}, {Var: "host"}, {Literal: " from "}, {Var: "remote_addr"}}, "host=shop.example from 10.1.2.3"},
	} {
		if got := expand(tc.t, v); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.t, got, tc.want)
		}
	}
}
