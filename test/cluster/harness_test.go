package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/echo"
	"github.com/moat-ingress/moat/internal/testutil"
)

// The Lease and Service names deploy/ creates; the ServiceAccount's RBAC
// allows exactly this Lease.
const (
	systemNS     = "moat-system"
	electionID   = "moat-leader"
	publishSvc   = "moat"
	saUser       = "system:serviceaccount:moat-system:moat"
	echoPort     = 8080
	firstAddress = "203.0.113.10"
)

var (
	installOnce   sync.Once
	installErr    error
	dryRunOut     string
	nextBackendIP atomic.Int32
)

// install runs `kubectl apply --dry-run=server -k deploy/` once on the
// fresh API server (TestDeployDryRun checks its output), then applies
// deploy/ for real, so that every controller in these tests runs with the
// ServiceAccount's least-privilege RBAC, and gives the publish Service a
// load-balancer address.
func install(t *testing.T) {
	t.Helper()
	installOnce.Do(func() { dryRunOut, installErr = doInstall() })
	if installErr != nil {
		t.Fatal(installErr)
	}
}

func doInstall() (string, error) {
	ctx := context.Background()
	// A server-side dry run cannot create the namespace its objects go
	// into (NamespaceLifecycle admission rejects them), so the Namespace
	// is created first, as `kubectl create namespace` would.
	if out, err := kubectl("apply", "-f", "../../deploy/namespace.yaml"); err != nil {
		return "", fmt.Errorf("kubectl apply -f deploy/namespace.yaml: %v\n%s", err, out)
	}
	dry, err := kubectl("apply", "--dry-run=server", "-k", "../../deploy/")
	if err != nil {
		return dry, fmt.Errorf("kubectl apply --dry-run=server -k deploy/: %v\n%s", err, dry)
	}
	if out, err := kubectl("apply", "-k", "../../deploy/"); err != nil {
		return dry, fmt.Errorf("kubectl apply -k deploy/: %v\n%s", err, out)
	}
	if err := setPublishAddress(ctx, firstAddress); err != nil {
		return dry, err
	}
	return dry, nil
}

// kubectl runs the kubectl built next to the API server, as the admin.
func kubectl(args ...string) (string, error) {
	cmd := exec.Command(cp.kubectl, append([]string{"--kubeconfig", cp.kubecfg}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// setPublishAddress plays the cloud load balancer: it writes ip into the
// publish Service's status.
func setPublishAddress(ctx context.Context, ip string) error {
	svcs := cp.client.CoreV1().Services(systemNS)
	for range 5 {
		svc, err := svcs.Get(ctx, publishSvc, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("service %s/%s: %w", systemNS, publishSvc, err)
		}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
		_, err = svcs.UpdateStatus(ctx, svc, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
	}
	return fmt.Errorf("service %s/%s: status update kept conflicting", systemNS, publishSvc)
}

// controllerUser returns a client configuration authenticated as moat's
// ServiceAccount, which deploy/'s RBAC binds.
func controllerUser(t *testing.T) *rest.Config {
	t.Helper()
	u, err := cp.env.ControlPlane.AddUser(envtest.User{Name: saUser}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u.Config()
}

// namespace creates a namespace for one test, named prefix-<random>:
// namespaces cannot be deleted without a controller-manager, and -count=N
// runs a test again against the same API server.
func namespace(t *testing.T, prefix string) string {
	t.Helper()
	ns, err := cp.client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("namespace %s-*: %v", prefix, err)
	}
	return ns.Name
}

// moat is one in-process controller replica.
type moat struct {
	id     string
	addrs  app.Addrs
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

type syncBuffer = testutil.SyncBuffer

// startMoat runs a controller replica watching the namespaces until the
// test ends (or stop).
func startMoat(t *testing.T, id string, mod func(*app.ControllerConfig), watch ...string) *moat {
	t.Helper()
	install(t)
	logs := &syncBuffer{}
	ready := make(chan app.Addrs, 1)
	c := app.ControllerConfig{
		Listen:            app.Listen{HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", HTTPSRedirectPort: 443},
		RestConfig:        controllerUser(t),
		WatchNamespaces:   watch,
		IngressClass:      "moat",
		ControllerClass:   "moat.dev/ingress-controller",
		PublishService:    systemNS + "/" + publishSvc,
		ConfigMap:         systemNS + "/moat",
		ElectionID:        electionID,
		ElectionNamespace: systemNS,
		Identity:          id,
		LeaseDuration:     3 * time.Second,
		RenewDeadline:     2 * time.Second,
		RetryPeriod:       500 * time.Millisecond,
		Log:               slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Ready:             func(a app.Addrs) { ready <- a },
	}
	if mod != nil {
		mod(&c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &moat{id: id, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- app.Controller(ctx, c) }()
	t.Cleanup(func() {
		m.stop(t)
		if t.Failed() {
			t.Logf("moat %s logs:\n%s", id, logs.String())
		}
	})
	select {
	case m.addrs = <-ready:
		return m
	case err := <-m.done:
		t.Fatalf("moat %s failed to start: %v\n%s", id, err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("moat %s not ready within 60s\n%s", id, logs.String())
	}
	return nil
}

// stop ends the replica and waits for it; safe to call twice.
func (m *moat) stop(t *testing.T) {
	t.Helper()
	if m.cancel == nil {
		return
	}
	m.cancel()
	m.cancel = nil
	select {
	case err := <-m.done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("moat %s exited with: %v", m.id, err)
		}
	case <-time.After(40 * time.Second):
		t.Errorf("moat %s did not stop within 40s", m.id)
	}
}

// client sends every connection to the replica's listener for the scheme,
// whatever the URL's host (curl --resolve). Each request opens a new
// connection, so a certificate change is seen at once. With nil roots the
// server certificate is not verified.
func (m *moat) client(roots *x509.CertPool) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		target := m.addrs.HTTP
		if strings.HasSuffix(addr, ":443") {
			target = m.addrs.HTTPS
		}
		var d net.Dialer
		return d.DialContext(ctx, network, target)
	}
	return &http.Client{
		Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: roots, InsecureSkipVerify: roots == nil}, DisableKeepAlives: true},
		Timeout:   5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

type result struct {
	status  int
	backend string
	leaf    *x509.Certificate
}

func get(c *http.Client, url string) (result, error) {
	resp, err := c.Get(url)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	r := result{status: resp.StatusCode, backend: resp.Header.Get(echo.NameHeader)}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		r.leaf = resp.TLS.PeerCertificates[0]
	}
	return r, nil
}

// metric reads one unlabelled sample from the replica's /metrics.
func (m *moat) metric(name string) (float64, error) {
	resp, err := http.Get("http://" + m.addrs.Admin + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("metric %s not found", name)
}

// eventually polls cond every 10 ms until it returns nil or d has passed
// since the call, and returns how long it took.
func eventually(t *testing.T, d time.Duration, what string, cond func() error) time.Duration {
	t.Helper()
	return testutil.Eventually(t, d, what, cond)
}

// backend runs an echo server on a fresh address of the namespace's
// 10.244.0.0/24 and returns its IP.
func backend(t *testing.T, name string) string {
	t.Helper()
	ip := fmt.Sprintf("10.244.0.%d", 10+nextBackendIP.Add(1))
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(echoPort)))
	if err != nil {
		t.Fatalf("echo listen on %s: %v", ip, err)
	}
	srv := &http.Server{Handler: echo.Handler(name), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ip
}

// createService creates a Service with one port "http" (80 → echoPort)
// and an EndpointSlice with the ready backend IPs, as the EndpointSlice
// controller would.
func createService(t *testing.T, ns, name string, ips ...string) {
	t.Helper()
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(echoPort)}},
			Selector: map[string]string{"app": name}},
	}
	if _, err := cp.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("service %s/%s: %v", ns, name, err)
	}
	eps := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(echoPort)), Protocol: ptr(corev1.ProtocolTCP)}},
	}
	for _, ip := range ips {
		eps.Endpoints = append(eps.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}})
	}
	if _, err := cp.client.DiscoveryV1().EndpointSlices(ns).Create(ctx, eps, metav1.CreateOptions{}); err != nil {
		t.Fatalf("endpointslice %s/%s: %v", ns, eps.Name, err)
	}
}

func ptr[T any](v T) *T { return &v }

// ingress returns an Ingress of class moat routing host+path to service
// port 80, with TLS from secret when it is not empty.
func ingress(ns, name, host, path, service, secret string) *networkingv1.Ingress {
	pt := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("moat"),
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: path, PathType: &pt, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
			}}}},
		},
	}
	if secret != "" {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: secret}}
	}
	return ing
}

func createIngress(t *testing.T, ing *networkingv1.Ingress) {
	t.Helper()
	if _, err := cp.client.NetworkingV1().Ingresses(ing.Namespace).Create(context.Background(), ing, metav1.CreateOptions{}); err != nil {
		t.Fatalf("ingress %s/%s: %v", ing.Namespace, ing.Name, err)
	}
}

// updateIngress applies mod to the current Ingress, retrying on conflict
// (the status writer updates it too).
func updateIngress(t *testing.T, ns, name string, mod func(*networkingv1.Ingress)) {
	t.Helper()
	ings := cp.client.NetworkingV1().Ingresses(ns)
	for range 10 {
		ing, err := ings.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("ingress %s/%s: %v", ns, name, err)
		}
		mod(ing)
		_, err = ings.Update(context.Background(), ing, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			t.Fatalf("ingress %s/%s: update: %v", ns, name, err)
		}
	}
	t.Fatalf("ingress %s/%s: update kept conflicting", ns, name)
}

// testCA issues server certificates.
type testCA struct{ *testutil.CA }

func newCA(t *testing.T) *testCA { return &testCA{testutil.NewCA(t, "moat cluster test CA")} }

// issue returns a PEM certificate and key for the names and its serial.
func (ca *testCA) issue(t *testing.T, dns ...string) (crt, key []byte, serial *big.Int) {
	return ca.Issue(t, dns...)
}

func tlsSecret(ns, name string, crt, key []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key},
	}
}

// serves returns nil once url answers status from backend (any backend
// when empty) and, for HTTPS, with the certificate of serial (any when
// nil).
func serves(c *http.Client, url string, status int, backend string, serial *big.Int) func() error {
	return func() error {
		r, err := get(c, url)
		if err != nil {
			return err
		}
		if r.status != status {
			return fmt.Errorf("GET %s: status %d, want %d", url, r.status, status)
		}
		if backend != "" && r.backend != backend {
			return fmt.Errorf("GET %s: backend %q, want %q", url, r.backend, backend)
		}
		if serial != nil && (r.leaf == nil || r.leaf.SerialNumber.Cmp(serial) != 0) {
			got := "none"
			if r.leaf != nil {
				got = r.leaf.SerialNumber.String()
			}
			return fmt.Errorf("GET %s: certificate serial %s, want %s", url, got, serial)
		}
		return nil
	}
}
