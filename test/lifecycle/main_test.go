// Package lifecycle tests how the moat binary meets signals: SIGHUP
// re-reads the manifests and SIGTERM drains, each under load with no
// failed request. Signals go to a process, so the tests build moat and run
// it as one, with backends and clients on loopback.
package lifecycle

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/testutil"
)

// moatBin is the binary TestMain builds.
var moatBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "moat-lifecycle-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL test/lifecycle:", err)
		os.Exit(1)
	}
	moatBin = filepath.Join(dir, "moat")
	build := exec.Command("go", "build", "-o", moatBin, "github.com/moat-ingress/moat/cmd/moat")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL test/lifecycle: building the moat binary (needs the go command on PATH):", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one `moat serve` process.
type proc struct {
	cmd    *exec.Cmd
	stderr *testutil.SyncBuffer
	http   string
	https  string
	admin  string
	exited chan struct{}
	err    error // the process's exit, once exited is closed
}

// startMoat runs `moat serve` on loopback ports of its choosing and waits
// for its "moat is serving" line.
func startMoat(t *testing.T, manifests string, grace time.Duration) *proc {
	t.Helper()
	p := &proc{stderr: &testutil.SyncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(moatBin, "serve", "--manifests", manifests, "--configmap", "default/moat",
		"--http-addr", "127.0.0.1:0", "--https-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--access-log=false", "--shutdown-grace-period", grace.String())
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("moat pid %d stderr:\n%s", p.cmd.Process.Pid, p.stderr.String())
		}
	})
	testutil.Eventually(t, 30*time.Second, "moat serve to report its addresses", func() error {
		select {
		case <-p.exited:
			t.Fatalf("moat serve exited at start: %v\n%s", p.err, p.stderr.String())
		default:
		}
		sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
		for sc.Scan() {
			var l struct{ Msg, HTTP, HTTPS, Admin string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "moat is serving" {
				p.http, p.https, p.admin = l.HTTP, l.HTTPS, l.Admin
				return nil
			}
		}
		return errors.New("not yet")
	})
	return p
}

func (p *proc) signal(t *testing.T, s syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		t.Fatalf("signal %v: %v", s, err)
	}
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// logged reports whether stderr has a JSON line with msg.
func (p *proc) logged(msg string) bool {
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	for sc.Scan() {
		var l struct{ Msg, Level string }
		if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.Msg, msg) && l.Level == "INFO" {
			return true
		}
	}
	return false
}

// backend serves testutil.SlowHandler(name) on loopback and returns its
// port.
func backend(t *testing.T, name string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: testutil.SlowHandler(name), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// service is a Service and its EndpointSlice pointing at a loopback port.
func service(name string, port int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %[1]s, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: %[2]d}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %[1]s-1
  namespace: default
  labels: {kubernetes.io/service-name: %[1]s}
addressType: IPv4
ports: [{name: http, port: %[2]d}]
endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]
`, name, port)
}

// ingress routes host lc.test to svc.
func ingress(svc string) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: lc, namespace: default}
spec:
  ingressClassName: moat
  rules:
  - host: lc.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: %s, port: {number: 80}}}}
`, svc)
}

// configMap is the controller ConfigMap with a short drain.
func configMap(workerShutdownTimeout string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: moat, namespace: default}
data: {worker-shutdown-timeout: %q}
`, workerShutdownTimeout)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// backendOf answers which backend served GET http://lc.test/ through addr.
func backendOf(addr string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}}
	res, err := c.Get("http://lc.test/")
	if err != nil {
		return "", err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", res.StatusCode)
	}
	return res.Header.Get("X-Echo-Name"), nil
}
