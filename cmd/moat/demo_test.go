package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDemoCurlLines runs `moat demo` and then the exact curl lines it
// prints, as a newcomer following the README would.
func TestDemoCurlLines(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is missing: install it (apt-get install curl) to run the demo test")
	}
	httpAddr, httpsAddr, adminAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	cmd := newRootCmd()
	cmd.SetArgs([]string{"demo", "--http-addr", httpAddr, "--https-addr", httpsAddr, "--admin-addr", adminAddr, "--log-level", "error"})
	cmd.SetOut(pw)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := cmd.ExecuteContext(ctx); err != nil {
			t.Errorf("moat demo: %v", err)
		}
		pw.Close()
	}()
	defer func() { cancel(); wg.Wait() }()

	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "curl ") {
				lines <- l
			}
		}
		close(lines)
	}()
	var curls []string
	timeout := time.After(30 * time.Second)
	for len(curls) < 5 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo stopped after printing %d curl lines", len(curls))
			}
			curls = append(curls, l)
		case <-timeout:
			t.Fatalf("demo printed %d curl lines within 30s, want 5", len(curls))
		}
	}
	wants := []string{`"name":"echo-a"`, `"name":"echo-b"`, "usingHTTP/2", "308", "nginx_ingress_controller_requests"}
	for i, l := range curls {
		c := exec.Command("bash", "-c", "set -o pipefail; "+strings.Replace(l, "curl ", "curl -sS --max-time 10 ", 1))
		out, err := c.CombinedOutput()
		compact := string(bytes.ReplaceAll(out, []byte(" "), nil))
		if err != nil || !strings.Contains(compact, strings.ReplaceAll(wants[i], " ", "")) {
			t.Errorf("%s\n  exit %v, output lacks %q:\n%s", l, err, wants[i], out)
		}
	}
}

// TestDemoBusyPortNoBanner: when a port the demo needs is taken, moat demo
// fails naming it and never prints its "serving" banner first.
func TestDemoBusyPortNoBanner(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for i, c := range []struct {
		name string
		args []string
		want string
	}{
		{"https port", []string{"--https-addr", busy.Addr().String()}, busy.Addr().String()},
		{"echo backend port", nil, "127.0.0.1:9001"},
	} {
		if i == 1 {
			// Taken here, or already by another demo: busy either way.
			if ln, err := net.Listen("tcp", "127.0.0.1:9001"); err == nil {
				defer ln.Close()
			}
		}
		args := append([]string{"demo", "--http-addr", freeAddr(t), "--https-addr", freeAddr(t), "--admin-addr", freeAddr(t), "--log-level", "error"}, c.args...)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := newRootCmd()
		cmd.SetArgs(args)
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		err := cmd.ExecuteContext(ctx)
		cancel()
		// A demo running elsewhere may hold the echo ports: also a busy port.
		if err == nil || !strings.Contains(err.Error(), c.want) && !strings.Contains(err.Error(), "127.0.0.1:900") {
			t.Errorf("%s busy: err %v, want one naming %s", c.name, err, c.want)
		}
		if strings.Contains(out.String(), "serving") || strings.Contains(out.String(), "curl") {
			t.Errorf("%s busy: printed the banner before failing:\n%s", c.name, out.String())
		}
	}
}
