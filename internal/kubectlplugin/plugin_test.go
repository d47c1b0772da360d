package kubectlplugin

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
)

// listen serves h on a loopback port and returns its address.
func listen(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// TestAdminGet: the debug listener first; the admin listener when the debug
// one is not there (refused) or does not serve the page (404); a page's
// error status is an error carrying its body.
func TestAdminGet(t *testing.T) {
	debug := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/debug/config" {
			_, _ = w.Write([]byte("from debug\n"))
			return
		}
		http.Error(w, "no configuration yet", http.StatusServiceUnavailable)
	}))
	admin := listen(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			_, _ = w.Write([]byte("from admin\n"))
			return
		}
		http.NotFound(w, r)
	}))
	ctx := context.Background()
	for _, c := range []struct {
		path  string
		addrs []string
		want  string
		err   string
	}{
		{"/debug/config", []string{debug, admin}, "from debug\n", ""},
		{"/debug/config", []string{closedAddr(t), debug}, "from debug\n", ""},
		{"/metrics", []string{admin}, "from admin\n", ""},
		{"/debug/certs", []string{debug, admin}, "", "503 Service Unavailable: no configuration yet"},
		{"/debug/config", []string{closedAddr(t), admin}, "", "no admin listener answered"},
		{"debug/config", []string{debug}, "", "want an absolute path"},
	} {
		var out bytes.Buffer
		err := AdminGet(ctx, &out, c.path, c.addrs)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s from %v: err %v, want %q", c.path, c.addrs, err, c.err)
			}
			continue
		}
		if err != nil || out.String() != c.want {
			t.Errorf("%s from %v: %q, %v; want %q", c.path, c.addrs, out.String(), err, c.want)
		}
	}
}

func TestBackends(t *testing.T) {
	conf := "host a.test\n  prefix / -> ns/web:80\npool ns/api:8080 []\npool ns/web:80 [10.0.0.1:80 10.0.0.2:80]\n"
	if got := string(Backends([]byte(conf))); got != "ns/api:8080 []\nns/web:80 [10.0.0.1:80 10.0.0.2:80]\n" {
		t.Errorf("Backends = %q", got)
	}
}

func TestFormatDiagnostics(t *testing.T) {
	body := `[{"object":{"kind":"Ingress","namespace":"shop","name":"web"},"severity":"error","reason":"ServiceNotFound","field":"spec.rules[0]","message":"service \"x\" not found","hint":"create it"},
{"object":{"kind":"Ingress","namespace":"shop","name":"web"},"severity":"warning","reason":"R","message":"m"}]`
	text, errs, err := FormatDiagnostics([]byte(body))
	if err != nil || errs != 1 {
		t.Fatalf("errs %d, %v", errs, err)
	}
	want := "error   ingress shop/web spec.rules[0]: service \"x\" not found (ServiceNotFound)\n        hint: create it\nwarning ingress shop/web: m (R)\n"
	if text != want {
		t.Errorf("got\n%s\nwant\n%s", text, want)
	}
	if text, _, _ := FormatDiagnostics([]byte("[]")); !strings.Contains(text, "no findings") {
		t.Errorf("empty: %q", text)
	}
	if _, _, err := FormatDiagnostics([]byte("<html>")); err == nil {
		t.Error("not JSON accepted")
	}
}
