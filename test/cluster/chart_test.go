package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/test/chart"
)

// monitoringCRDs stands in for the Prometheus operator's CRDs, which the
// chart's ServiceMonitor and PrometheusRule need to exist on the server.
// They are schema-less (the operator's own schemas are not vendored here), so
// the dry run checks those two objects' kind, group and metadata only.
const monitoringCRDs = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {plural: servicemonitors, singular: servicemonitor, kind: ServiceMonitor}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: prometheusrules.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {plural: prometheusrules, singular: prometheusrule, kind: PrometheusRule}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

// TestChartDryRun renders charts/moat with Helm's SDK (defaults, every
// option on, and the ported ingress-nginx values file) and applies each
// render to the API server with a server-side dry run, in a namespace that
// enforces the restricted Pod Security Standard: every object must be
// accepted, without a warning.
func TestChartDryRun(t *testing.T) {
	dir := t.TempDir()
	crds := filepath.Join(dir, "crds.yaml")
	if err := os.WriteFile(crds, []byte(monitoringCRDs), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := kubectl("apply", "-f", crds); err != nil {
		t.Fatalf("monitoring CRDs: %v\n%s", err, out)
	}
	if out, err := kubectl("wait", "--for=condition=Established", "--timeout=60s",
		"crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com"); err != nil {
		t.Fatalf("monitoring CRDs not established: %v\n%s", err, out)
	}

	ported, err := os.ReadFile("../chart/testdata/ingress-nginx-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, values string }{
		{"defaults", ""},
		{"options", `
controller:
  autoscaling: {enabled: true}
  networkPolicy: {enabled: true}
  scope: {enabled: true}
  lifecycle:
    preStop:
      exec: {command: ["/moat", "wait-shutdown"]}
  metrics:
    enabled: true
    serviceMonitor: {enabled: true}
    prometheusRule: {enabled: true}
    grafanaDashboard: {enabled: true}
  service:
    type: NodePort
    nodePorts:
      tcp: {"5432": 30432}
tcp: {"5432": "db/postgres:5432:PROXY"}
udp: {"5353": "kube-system/dns:dns"}
`},
		{"ported", string(ported)},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			ns, err := cp.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				GenerateName: "chart-" + c.name + "-",
				Labels:       map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
			}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			values, err := chart.Values(c.values)
			if err != nil {
				t.Fatal(err)
			}
			if values == nil {
				values = map[string]any{}
			}
			// Cluster-scoped names (ClusterRole, IngressClass) must not
			// meet another test's: the release and class are per namespace.
			ctrl, _ := values["controller"].(map[string]any)
			if ctrl == nil {
				ctrl = map[string]any{}
				values["controller"] = ctrl
			}
			icr, _ := ctrl["ingressClassResource"].(map[string]any)
			if icr == nil {
				icr = map[string]any{}
				ctrl["ingressClassResource"] = icr
			}
			icr["name"] = ns.Name
			if scope, ok := ctrl["scope"].(map[string]any); ok && scope["namespace"] != nil {
				scope["namespace"] = ns.Name
			}
			manifest, err := chart.Render(ns.Name, ns.Name, values)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			objs, err := chart.Split(manifest)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "manifest.yaml")
			if err := os.WriteFile(file, []byte(manifest), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := kubectl("apply", "--dry-run=server", "-f", file)
			if err != nil {
				t.Fatalf("kubectl apply --dry-run=server: %v\n%s\nmanifest:\n%s", err, out, manifest)
			}
			if strings.Contains(out, "Warning") || strings.Contains(out, "PodSecurity") {
				t.Errorf("dry run warned:\n%s", out)
			}
			for _, o := range objs {
				// kubectl names an object kind.group/name.
				kind := strings.ToLower(o.Kind)
				if av, _ := o.Doc["apiVersion"].(string); strings.Contains(av, "/") {
					kind += "." + av[:strings.Index(av, "/")]
				}
				want := fmt.Sprintf("%s/%s created (server dry run)", kind, o.Name)
				if !strings.Contains(out, want) {
					t.Errorf("dry run output lacks %q:\n%s", want, out)
				}
			}
			if len(objs) < 9 {
				t.Errorf("only %d objects rendered: %s", len(objs), manifest)
			}
		})
	}
}
