package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/echo"
)

// startFastCGI runs a FastCGI application (the standard library's
// responder) that answers with the parameters it received.
func startFastCGI(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("missing") != "" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"env": fcgi.ProcessEnv(r), "uri": r.URL.RequestURI(), "host": r.Host, "method": r.Method, "https": r.TLS != nil,
		})
	}))
	return ln.Addr().String()
}

// startNoisyFastCGI is a FastCGI application written at the record level
// that writes to stderr before answering (net/http/fcgi cannot).
func startNoisyFastCGI(t *testing.T, stderr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	record := func(typ byte, content string) []byte {
		pad := (8 - len(content)%8) % 8
		h := []byte{1, typ, 0, 1, byte(len(content) >> 8), byte(len(content)), byte(pad), 0}
		return append(append(h, content...), make([]byte, pad)...)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for { // records up to the empty STDIN (type 5) that ends the request
					h := make([]byte, 8)
					if _, err := io.ReadFull(br, h); err != nil {
						return
					}
					n := int(h[4])<<8 | int(h[5])
					if _, err := br.Discard(n + int(h[6])); err != nil {
						return
					}
					if h[1] == 5 && n == 0 {
						break
					}
				}
				var out []byte
				out = append(out, record(7, stderr)...)
				out = append(out, record(6, "Content-Type: text/plain\r\n\r\nnoisy")...)
				out = append(out, record(6, "")...)
				out = append(out, record(3, string(make([]byte, 8)))...)
				c.Write(out)
			}()
		}
	}()
	return ln.Addr().String()
}

// startDualEcho serves the echo handler over HTTP and HTTPS on one port,
// telling the two apart by the first byte (a TLS handshake record is 0x16).
func startDualEcho(t *testing.T, name string, cert *tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn)
	dual := &chanListener{Listener: ln, conns: conns}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(conns)
				return
			}
			go func() {
				br := bufio.NewReader(c)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				b, err := br.Peek(1)
				c.SetReadDeadline(time.Time{})
				if err != nil {
					c.Close()
					return
				}
				var pc net.Conn = &peekedConn{Conn: c, r: br}
				if b[0] == 0x16 {
					pc = tls.Server(pc, &tls.Config{Certificates: []tls.Certificate{*cert}})
				}
				conns <- pc
			}()
		}
	}()
	srv := &http.Server{Handler: echo.Handler(name), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(dual)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type chanListener struct {
	net.Listener
	conns chan net.Conn
}

func (l *chanListener) Accept() (net.Conn, error) {
	c, ok := <-l.conns
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// TestBackendProtocolFCGIAndAutoHTTP: backend-protocol FCGI talks FastCGI
// with nginx's parameters, fastcgi-index and the fastcgi-params-configmap
// entries; AUTO_HTTP reaches the endpoint in the client's own scheme.
func TestBackendProtocolFCGIAndAutoHTTP(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t)
	app := startFastCGI(t)
	dual := startDualEcho(t, "dual", ca.leaf(t, "dual.internal", false, "dual.internal"))
	fcgiAnn := map[string]string{"backend-protocol": "FCGI", "fastcgi-index": "index.php", "fastcgi-params-configmap": "php-params"}
	writeFile(t, dir, "b.yaml", join(
		service("default", "php", app),
		service("default", "dual", dual),
		service("default", "noisy", startNoisyFastCGI(t, "PHP Warning:  Undefined variable $cart")),
		annotate(ingress("default", "noisy", "noisy.example", "", "/", "noisy"), map[string]string{"backend-protocol": "FCGI"}),
		ca.secret(t, "default", "site", "php.example", "auto.example", "other.example"),
		`apiVersion: v1
kind: ConfigMap
metadata: {name: php-params, namespace: default}
data:
  SCRIPT_FILENAME: "/var/www$fastcgi_script_name"
  APP_MODE: "$scheme via $request_method"
  BAD: "$remote_user"
`,
		annotate(ingress("default", "php", "php.example", "site", "/", "php"), fcgiAnn),
		annotate(ingress("default", "auto", "auto.example", "site", "/", "dual"), map[string]string{"backend-protocol": "auto_http", "ssl-redirect": "false"}),
		annotate(ingress("default", "other", "other.example", "site", "/", "php"), map[string]string{"backend-protocol": "AJP", "fastcgi-index": "index.php"}),
	))
	m := startMoat(t, dir, nil)
	c := m.client(ca.pool, false)

	var a struct {
		Env    map[string]string
		URI    string
		Host   string
		Method string
		HTTPS  bool
	}
	r := get(t, c, "https://php.example/shop/?id=3")
	if r.status != 200 {
		t.Fatalf("FCGI: status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("FCGI: %v: %s", err, r.body)
	}
	if a.URI != "/shop/?id=3" || a.Host != "php.example" || !a.HTTPS || a.Method != "GET" {
		t.Errorf("FCGI request as the application saw it: %+v", a)
	}
	for k, want := range map[string]string{
		"SCRIPT_FILENAME": "/var/www/shop/index.php", // fastcgi-index applied to a URI ending in /
		"APP_MODE":        "https via GET",
		"DOCUMENT_URI":    "/shop/",
		"REDIRECT_STATUS": "200",
	} {
		if a.Env[k] != want {
			t.Errorf("FCGI parameter %s = %q, want %q", k, a.Env[k], want)
		}
	}
	if _, ok := a.Env["BAD"]; ok {
		t.Error("a parameter with an unknown variable was sent")
	}
	if r := get(t, c, "https://php.example/x?missing=1"); r.status != 404 {
		t.Errorf("FCGI application's 404: got %d", r.status)
	}

	// What the application writes to stderr reaches moat's log, as nginx
	// logs "FastCGI sent in stderr".
	if r := get(t, c, "http://noisy.example/"); r.status != 200 || string(r.body) != "noisy" {
		t.Errorf("FastCGI with stderr: %d %q", r.status, r.body)
	}
	eventually(t, 5*time.Second, "the application's stderr in the log", func() bool {
		return strings.Contains(m.logs.String(), "Undefined variable $cart")
	})

	for scheme, wantTLS := range map[string]bool{"http": false, "https": true} {
		r := get(t, c, scheme+"://auto.example/p")
		if r.status != 200 || r.echo.TLS != wantTLS {
			t.Errorf("AUTO_HTTP over %s: status %d, backend saw TLS %v, want %v", scheme, r.status, r.echo.TLS, wantTLS)
		}
	}

	d := m.diagnostics(t)
	for _, want := range []string{"$remote_user", "AJP", "FastCGIWithoutFCGIBackend"} {
		if !strings.Contains(d, want) {
			t.Errorf("diagnostics do not mention %s:\n%s", want, d)
		}
	}
	for _, line := range strings.Split(d, "\n") {
		if strings.Contains(line, "FastCGIWithoutFCGIBackend") && strings.Contains(line, "default/php") {
			t.Errorf("fastcgi-* on the FCGI Ingress reported as without effect: %s", line)
		}
	}
}
