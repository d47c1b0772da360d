package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestMigrationReportAPIServer runs `moat lint --kubeconfig` against a real
// kube-apiserver and etcd (built by hack/kube/build.sh, as the cluster-mode
// tests use): an Ingress with an annotation moat does not support is
// reported, and the summary counts it. It fails, saying what to run, when
// the control plane is not built.
func TestMigrationReportAPIServer(t *testing.T) {
	assets, err := exec.Command("../../hack/kube/build.sh", "--print").Output()
	if err != nil {
		t.Fatal("the test control plane (kube-apiserver, etcd) is not built: run hack/kube/build.sh first (.ci/run does)")
	}
	env := &envtest.Environment{BinaryAssetsDirectory: strings.TrimSpace(string(assets))}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting kube-apiserver: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	client := kubernetes.NewForConfigOrDie(cfg)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Services("shop").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	class, prefix := "nginx", networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy", Annotations: map[string]string{"nginx.ingress.kubernetes.io/mirror-target": "https://mirror.example/"}},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{Host: "shop.example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}}}}},
	}
	if _, err := client.NetworkingV1().Ingresses("shop").Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	out, code := run(t, "", "lint", "--kubeconfig", kubeconfig, "--namespace", "shop", "--ingress-class", "nginx")
	for _, want := range []string{
		"ingress shop/legacy (class nginx): works, with warnings",
		"annotation nginx.ingress.kubernetes.io/mirror-target: not supported",
		"1 Ingress: 0 fully supported, 1 with warnings, 0 with errors",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Errorf("exit %d with warnings only", code)
	}
	// Without the in-place flags, moat (class moat) would not serve it;
	// with --configmap the controller ConfigMap's keys are reported.
	if _, err := client.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx-controller"},
		Data: map[string]string{"enable-opentracing": "true", "proxy-body-size": "8m"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	out, _ = run(t, "", "lint", "--kubeconfig", kubeconfig, "--namespace", "shop", "--configmap", "shop/ingress-nginx-controller")
	for _, want := range []string{
		"ingress shop/legacy (class nginx): not served by moat\n",
		"warning IngressNotServed (spec.ingressClassName): ingress class \"nginx\" is not served by moat with --ingress-class moat",
		"controller configmap shop/ingress-nginx-controller: 2 keys, 1 not applied as written\n  key enable-opentracing: not supported",
		"0 Ingresses: 0 fully supported, 0 with warnings, 0 with errors; 1 not served by moat",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report without --ingress-class lacks %q:\n%s", want, out)
		}
	}
	if _, code := run(t, "", "lint", "--kubeconfig", kubeconfig, "--all-namespaces", "--strict"); code != 1 {
		t.Errorf("--strict with warnings: exit %d", code)
	}
}
