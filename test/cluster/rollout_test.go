package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/moat-ingress/moat/internal/testutil"
)

// TestRolloutDrain is a rolling restart's step on the real API server:
// two `moat controller` processes serve under steady load through a
// balancer that dials only replicas whose /readyz answers 200 (as the
// endpoints controller and kube-proxy would, 300 ms behind). One gets SIGTERM while a
// long request and a WebSocket are open through it: no request of the
// load fails, the long request completes, and the WebSocket works through
// the drain and gets a Close frame (1001) at its end (the ConfigMap's
// worker-shutdown-timeout, 2 s here), after which the process exits 0.
// The other replica gets SIGHUP meanwhile: it re-reads the ConfigMap and
// keeps serving.
func TestRolloutDrain(t *testing.T) {
	const grace, drain = time.Second, 2 * time.Second
	ns := namespace(t, "rollout")
	createService(t, ns, "web", slowBackend(t, "web"))
	createIngress(t, ingress(ns, "web", "web.rollout.test", "/", "web", ""))
	setConfigMap(t, map[string]string{"worker-shutdown-timeout": "2s"})
	bin, kubecfg := moatBinary(t), controllerKubeconfig(t)
	m1 := startMoatProcess(t, bin, kubecfg, "moat-rollout-1", grace, ns)
	m2 := startMoatProcess(t, bin, kubecfg, "moat-rollout-2", grace, ns)
	r1 := &testutil.Replica{Name: "m1", HTTP: m1.http, Admin: m1.admin}
	r2 := &testutil.Replica{Name: "m2", HTTP: m2.http, Admin: m2.admin}
	b := testutil.NewBalancer(300*time.Millisecond, r1, r2)
	defer b.Close()
	eventually(t, 20*time.Second, "both replicas ready and routing", func() error {
		if !r1.Ready() || !r2.Ready() {
			return fmt.Errorf("ready: %v %v", r1.Ready(), r2.Ready())
		}
		for _, m := range []*moatProcess{m1, m2} {
			if err := serves(directClient(m.http), "http://web.rollout.test/", http.StatusOK, "web", nil)(); err != nil {
				return err
			}
		}
		return nil
	})
	load := testutil.StartLoad(b, "http://web.rollout.test/", 4, 50000, 40*time.Second)
	defer load.Stop()

	ws, err := testutil.DialWS(m1.http, "web.rollout.test", "/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Conn.Close()
	if err := ws.Echo("before"); err != nil {
		t.Fatal(err)
	}
	long := make(chan error, 1)
	go func() {
		res, err := directClient(m1.http).Get("http://web.rollout.test/slow?d=1800ms")
		if err == nil {
			var body []byte
			body, err = io.ReadAll(res.Body)
			res.Body.Close()
			if err == nil && (res.StatusCode != http.StatusOK || string(body) != "slow done\n") {
				err = fmt.Errorf("%d %q", res.StatusCode, body)
			}
		}
		long <- err
	}()
	// SIGHUP re-reads the controller ConfigMap and drops nothing.
	if err := m2.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // load on both; the long request under way

	okBefore := load.OK.Load()
	sigterm := time.Now()
	if err := m1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "the balancer to see m1 unready", func() error {
		if r1.Ready() {
			return errors.New("still ready")
		}
		return nil
	})
	time.Sleep(time.Until(sigterm.Add(grace + 300*time.Millisecond)))
	if err := ws.Echo("during the drain"); err != nil {
		t.Errorf("WebSocket during the drain: %v", err)
	}
	select {
	case err := <-long:
		if err != nil {
			t.Errorf("long request across SIGTERM: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("long request not answered")
	}
	op, p, err := ws.Recv(grace + drain + 3*time.Second)
	closedAt := time.Since(sigterm)
	switch {
	case err != nil:
		t.Errorf("WebSocket at the end of the drain: %v (after %v), want a Close frame", err, closedAt)
	case op != 8 || testutil.CloseCode(p) != 1001:
		t.Errorf("WebSocket got opcode %d code %d, want Close 1001", op, testutil.CloseCode(p))
	case closedAt < grace+drain-200*time.Millisecond:
		t.Errorf("WebSocket closed %v after SIGTERM, before the drain's end (%v)", closedAt, grace+drain)
	}
	select {
	case <-m1.exited:
		if m1.err != nil {
			t.Errorf("m1 exit: %v, want status 0", m1.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("m1 still running 10 s after the drain's end")
	}
	load.AtLeast(t, load.OK.Load(), 50) // on m2 alone
	load.Stop()
	if !m2.running() || !m2.logged("re-read: ConfigMap read") {
		t.Errorf("m2 after SIGHUP: running %v, INFO line \"re-read: ConfigMap read\" %v", m2.running(), m2.logged("re-read: ConfigMap read"))
	}
	if n := load.Failed.Load(); n != 0 || okBefore == 0 {
		t.Errorf("load: %d ok (%d before SIGTERM), %d failed; want 0 failed; first errors: %v", load.OK.Load(), okBefore, n, load.Errors())
	}
	t.Logf("load: %d requests, %d failed; dials m1 %d, m2 %d; m1 unready %v after SIGTERM; WebSocket closed after %v",
		load.OK.Load(), load.Failed.Load(), b.Dials("m1"), b.Dials("m2"), r1.UnreadySince().Sub(sigterm).Round(time.Millisecond), closedAt.Round(time.Millisecond))
}

// moatProcess is one `moat controller` process.
type moatProcess struct {
	cmd                *exec.Cmd
	stderr             *testutil.SyncBuffer
	http, https, admin string
	exited             chan struct{}
	err                error
}

var (
	moatBinOnce sync.Once
	moatBinPath string
	moatBinErr  error
)

// moatBinary builds cmd/moat once per test binary: signals go to a
// process, so the rollout test runs moat as one.
func moatBinary(t *testing.T) string {
	t.Helper()
	moatBinOnce.Do(func() {
		moatBinPath = filepath.Join(cp.tempRoot, "moat")
		out, err := exec.Command("go", "build", "-o", moatBinPath, "github.com/moat-ingress/moat/cmd/moat").CombinedOutput()
		if err != nil {
			moatBinErr = fmt.Errorf("building moat (needs the go command on PATH): %v\n%s", err, out)
		}
	})
	if moatBinErr != nil {
		t.Fatal(moatBinErr)
	}
	return moatBinPath
}

// controllerKubeconfig writes a kubeconfig for moat's ServiceAccount user.
func controllerKubeconfig(t *testing.T) string {
	t.Helper()
	u, err := cp.env.ControlPlane.AddUser(envtest.User{Name: saUser}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := u.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startMoatProcess runs `moat controller` as deploy/ does, on loopback
// ports of its choosing, and waits for its "moat is serving" line.
func startMoatProcess(t *testing.T, bin, kubecfg, id string, grace time.Duration, watch ...string) *moatProcess {
	t.Helper()
	install(t)
	m := &moatProcess{stderr: &testutil.SyncBuffer{}, exited: make(chan struct{})}
	args := []string{"controller", "--kubeconfig", kubecfg, "--ingress-class=moat", "--configmap=" + systemNS + "/moat",
		"--publish-service=" + systemNS + "/" + publishSvc, "--election-id=" + electionID,
		"--http-addr=127.0.0.1:0", "--https-addr=127.0.0.1:0", "--admin-addr=127.0.0.1:0", "--access-log=false",
		"--shutdown-grace-period=" + strconv.Itoa(int(grace.Seconds()))}
	for _, ns := range watch {
		args = append(args, "--watch-namespace="+ns)
	}
	m.cmd = exec.Command(bin, args...)
	m.cmd.Env = append(os.Environ(), "POD_NAMESPACE="+systemNS, "POD_NAME="+id)
	m.cmd.Stderr = m.stderr
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { m.err = m.cmd.Wait(); close(m.exited) }()
	t.Cleanup(func() {
		select {
		case <-m.exited:
		default:
			_ = m.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-m.exited:
			case <-time.After(10 * time.Second):
				_ = m.cmd.Process.Kill()
				<-m.exited
			}
		}
		if t.Failed() {
			t.Logf("moat %s stderr:\n%s", id, m.stderr.String())
		}
	})
	eventually(t, 60*time.Second, "moat "+id+" serving", func() error {
		select {
		case <-m.exited:
			t.Fatalf("moat %s exited at start: %v\n%s", id, m.err, m.stderr.String())
		default:
		}
		sc := bufio.NewScanner(strings.NewReader(m.stderr.String()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l struct{ Msg, HTTP, HTTPS, Admin string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "moat is serving" {
				m.http, m.https, m.admin = l.HTTP, l.HTTPS, l.Admin
				return nil
			}
		}
		return errors.New("not yet")
	})
	return m
}

func (m *moatProcess) running() bool {
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// logged reports whether stderr has an INFO line starting with msg.
func (m *moatProcess) logged(msg string) bool {
	sc := bufio.NewScanner(strings.NewReader(m.stderr.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct{ Msg, Level string }
		if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.Msg, msg) && l.Level == "INFO" {
			return true
		}
	}
	return false
}

// directClient sends every connection to addr, one per request.
func directClient(addr string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(_ context.Context, network, _ string) (net.Conn, error) {
			return net.DialTimeout(network, addr, 5*time.Second)
		}}}
}

// slowBackend is backend with testutil.SlowHandler: echo plus /slow.
func slowBackend(t *testing.T, name string) string {
	t.Helper()
	ip := fmt.Sprintf("10.244.0.%d", 10+nextBackendIP.Add(1))
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(echoPort)))
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	srv := &http.Server{Handler: testutil.SlowHandler(name), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ip
}
