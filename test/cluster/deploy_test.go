package cluster

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDeployDryRun checks that `kubectl apply --dry-run=server -k deploy/`
// succeeds on a fresh API server (install runs it before anything else is
// applied), without Pod Security warnings for the restricted namespace, and
// that the real apply left what the controller relies on.
func TestDeployDryRun(t *testing.T) {
	install(t)
	for _, want := range []string{
		"serviceaccount/moat created (server dry run)",
		"clusterrole.rbac.authorization.k8s.io/moat created (server dry run)",
		"role.rbac.authorization.k8s.io/moat created (server dry run)",
		"configmap/moat created (server dry run)",
		"deployment.apps/moat created (server dry run)",
		"service/moat created (server dry run)",
		"ingressclass.networking.k8s.io/moat created (server dry run)",
		"networkpolicy.networking.k8s.io/moat created (server dry run)",
	} {
		if !strings.Contains(dryRunOut, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, dryRunOut)
		}
	}
	if strings.Contains(dryRunOut, "PodSecurity") || strings.Contains(dryRunOut, "Warning") {
		t.Errorf("dry run warned:\n%s", dryRunOut)
	}
	ctx := context.Background()
	d, err := cp.client.AppsV1().Deployments(systemNS).Get(ctx, "moat", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 {
		t.Errorf("deployment replicas = %d, want 2", *d.Spec.Replicas)
	}
	// /debug/* stays off the pod network; the admin port keeps probes.
	if args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " "); !strings.Contains(args, "--debug-addr=127.0.0.1:10255") {
		t.Errorf("deployment args %q lack --debug-addr=127.0.0.1:10255", args)
	}
	if _, err := cp.client.NetworkingV1().NetworkPolicies(systemNS).Get(ctx, "moat", metav1.GetOptions{}); err != nil {
		t.Errorf("networkpolicy moat: %v", err)
	}
	ic, err := cp.client.NetworkingV1().IngressClasses().Get(ctx, "moat", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ic.Spec.Controller != "moat.dev/ingress-controller" {
		t.Errorf("ingressclass moat controller = %q", ic.Spec.Controller)
	}
	// The ServiceAccount may not touch other namespaces' Leases nor write
	// Ingresses (only their status).
	for _, check := range []struct{ verb, group, resource, ns, name string }{
		{"update", "coordination.k8s.io", "leases", "default", "moat-leader"},
		{"update", "coordination.k8s.io", "leases", systemNS, "other-lease"},
		{"update", "networking.k8s.io", "ingresses", "default", "x"},
		{"delete", "", "secrets", "default", "x"},
	} {
		res := check.resource
		if check.group != "" {
			res += "." + check.group
		}
		args := []string{"auth", "can-i", check.verb, res + "/" + check.name, "--as", saUser, "-n", check.ns}
		out, _ := kubectl(args...)
		if strings.TrimSpace(out) != "no" {
			t.Errorf("kubectl %s: %q, want no", strings.Join(args, " "), strings.TrimSpace(out))
		}
	}
	out, _ := kubectl("auth", "can-i", "update", "ingresses.networking.k8s.io", "--subresource=status", "--as", saUser, "-n", "default")
	if strings.TrimSpace(out) != "yes" {
		t.Errorf("ServiceAccount cannot update ingresses/status: %q", out)
	}
}
