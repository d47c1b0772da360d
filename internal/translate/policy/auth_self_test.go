package policy

import "testing"

func TestListenersMatch(t *testing.T) {
	l := listeners{HTTP: "[::]:8080", HTTPS: "0.0.0.0:8443", Admin: "127.0.0.1:10254"}
	for _, c := range []struct {
		url, want string
	}{
		{"http://127.0.0.1:8080/auth", "HTTP"},
		{"http://localhost:8080/auth", "HTTP"},
		{"http://0.0.0.0:8080/", "HTTP"},
		{"http://[::1]:8080/", "HTTP"},
		{"https://127.0.0.1:8443/x", "HTTPS"},
		{"http://127.0.0.1:10254/healthz", "admin"},
		{"http://LOCALHOST:10254/metrics", "admin"},
		{"http://10.0.0.1:10254/", ""}, // admin on loopback only
		{"http://auth.example.com:8080/", ""},
		{"http://127.0.0.1:9090/", ""},
		{"http://127.0.0.1/", ""}, // port 80
		{"http://$host:8080/auth", ""},
		{"https://$host/oauth2/auth", ""},
		{"::not a url", ""},
	} {
		got, ok := l.match(c.url)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("match(%q) = %q, %v; want %q", c.url, got, ok, c.want)
		}
	}
	if _, ok := (listeners{}).match("http://127.0.0.1:8080/"); ok {
		t.Error("no listeners known: nothing matches")
	}
	if got, _ := (listeners{HTTP: "10.1.2.3:80"}).match("http://10.1.2.3/"); got != "HTTP" {
		t.Errorf("a specific address with the scheme's port: %q", got)
	}
}
