package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/kubectlplugin"
)

// TestKubectlPlugin runs the kubectl-moat plugin's client against the real
// API server. There is no kubelet here, so the controller "pod" is a Pod
// object whose status the test sets (Running, Ready, its IP), and the
// controller is an in-process replica whose admin listener is on that IP.
// --via=proxy goes the whole way (API server pod proxy to the listener);
// --via=exec goes as far as the API server can without a kubelet, and must
// fail saying which pod and command.
func TestKubectlPlugin(t *testing.T) {
	ns := namespace(t, "plugin")
	ctx := context.Background()
	ip := backend(t, "shop")
	createService(t, ns, "shop", ip)
	createIngress(t, ingress(ns, "shop", "shop.plugin.test", "/", "shop", "missing-tls"))

	adminIP := fmt.Sprintf("10.244.0.%d", 10+nextBackendIP.Add(1))
	m := startMoat(t, "moat-plugin", func(c *app.ControllerConfig) { c.Listen.AdminAddr = adminIP + ":10254" }, ns)
	eventually(t, 20*time.Second, "shop served", func() error {
		body, err := direct(m, "/debug/config")
		if err != nil || !strings.Contains(body, ip) {
			return fmt.Errorf("config without the backend %s: %v\n%s", ip, err, body)
		}
		return nil
	})

	// A pod that is not ready comes first by name and must be passed over.
	controllerPod(t, ns, "moat-a-notready", "10.244.0.250", false)
	controllerPod(t, ns, "moat-b", adminIP, true)

	proxy, err := kubectlplugin.New(cp.admin, kubectlplugin.Options{Namespace: ns, Via: kubectlplugin.ViaProxy})
	if err != nil {
		t.Fatal(err)
	}
	pod, err := proxy.Pod(ctx)
	if err != nil || pod != "moat-b" {
		t.Fatalf("pod = %q, %v; want moat-b, the ready one", pod, err)
	}
	for _, path := range []string{"/debug/config", "/debug/certs", "/debug/diagnostics"} {
		got, err := proxy.Get(ctx, path)
		if err != nil {
			t.Fatalf("%s through the pod proxy: %v", path, err)
		}
		want, err := direct(m, path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s through the pod proxy:\n%s\ndirect:\n%s", path, got, want)
		}
	}
	conf, _ := proxy.Get(ctx, "/debug/config")
	if b := string(kubectlplugin.Backends(conf)); !strings.Contains(b, ns+"/shop:80") || !strings.Contains(b, ip+":8080") {
		t.Errorf("backends:\n%s", b)
	}
	diags, _ := proxy.Get(ctx, "/debug/diagnostics")
	text, errs, err := kubectlplugin.FormatDiagnostics(diags)
	if err != nil || !strings.Contains(text, "ingress "+ns+"/shop") || !strings.Contains(text, "TLSSecretNotFound") {
		t.Errorf("lint (%d errors, %v):\n%s", errs, err, text)
	}

	// exec: the API server needs the pod's node to reach its kubelet.
	exec, err := kubectlplugin.New(cp.admin, kubectlplugin.Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	_, err = exec.Get(ctx, "/debug/config")
	if err == nil {
		t.Fatal("exec succeeded without a kubelet")
	}
	t.Logf("exec without a kubelet: %v", err)
	for _, want := range []string{"kubectl exec " + ns + "/moat-b -c moat -- /moat admin-get /debug/config", "host"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("exec error lacks %q: %v", want, err)
		}
	}

	// No controller pod: say where it looked.
	none, _ := kubectlplugin.New(cp.admin, kubectlplugin.Options{Namespace: namespace(t, "plugin-empty")})
	if _, err := none.Get(ctx, "/debug/config"); err == nil || !strings.Contains(err.Error(), "no pod in namespace") {
		t.Errorf("empty namespace: %v", err)
	}
}

// direct reads the replica's admin listener itself.
func direct(m *moat, path string) (string, error) {
	resp, err := http.Get("http://" + m.addrs.Admin + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// controllerPod creates a Pod labelled as deploy/'s controller and sets
// its status as a kubelet would.
func controllerPod(t *testing.T, ns, name, ip string, isReady bool) {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
			"app.kubernetes.io/name": "moat", "app.kubernetes.io/component": "controller"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "moat", Image: "ghcr.io/moat-ingress/moat:v0.1.0",
			Ports: []corev1.ContainerPort{{Name: "admin", ContainerPort: 10254}}}}},
	}
	created, err := cp.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("pod %s/%s: %v", ns, name, err)
	}
	status := corev1.ConditionFalse
	if isReady {
		status = corev1.ConditionTrue
	}
	created.Status = corev1.PodStatus{
		Phase:      corev1.PodRunning,
		PodIP:      ip,
		PodIPs:     []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
	}
	if _, err := cp.client.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("pod %s/%s status: %v", ns, name, err)
	}
}
