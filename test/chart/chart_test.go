package chart

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// render renders the chart or fails the test.
func render(t *testing.T, release, ns string, values map[string]any) []Object {
	t.Helper()
	m, err := Render(release, ns, values)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	objs, err := Split(m)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// find returns the one object of kind (and name, when not empty).
func find(t *testing.T, objs []Object, kind, name string) Object {
	t.Helper()
	var got []Object
	for _, o := range objs {
		if o.Kind == kind && (name == "" || o.Name == name) {
			got = append(got, o)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d objects of kind %s named %q, want 1; have %v", len(got), kind, name, kinds(objs))
	}
	return got[0]
}

func kinds(objs []Object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.Kind+"/"+o.Name)
	}
	return ks
}

// into converts a rendered document into a typed object, refusing fields
// the type does not have (a template typo).
func into(t *testing.T, o Object, v any) {
	t.Helper()
	b, err := json.Marshal(o.Doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, v); err != nil {
		t.Fatalf("%s/%s: %v\n%s", o.Kind, o.Name, err, o.Text)
	}
}

func mustValues(t *testing.T, text string) map[string]any {
	t.Helper()
	v, err := Values(text)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func chartMeta(t *testing.T) (version, appVersion string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(), "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Version, AppVersion string }
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Version, c.AppVersion
}

// readDeploy decodes one file of deploy/ (objects split on ---).
func readDeploy(t *testing.T, file string) []Object {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(), "..", "..", "deploy", file))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Split(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func container(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deployment has %d containers", len(d.Spec.Template.Spec.Containers))
	}
	return d.Spec.Template.Spec.Containers[0]
}

// argsWithout drops the flags named (with their values).
func argsWithout(args []string, drop ...string) []string {
	var out []string
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !slices.Contains(drop, name) {
			out = append(out, a)
		}
	}
	return out
}

// TestDefaultsMirrorDeploy: `helm install moat charts/moat -n moat-system`
// renders what `kubectl apply -k deploy/` applies: the same hardening,
// RBAC, ports, probes, resources, Service and PodDisruptionBudget, and a
// pinned image (never :latest).
func TestDefaultsMirrorDeploy(t *testing.T) {
	objs := render(t, "moat", "moat-system", nil)
	var got, want appsv1.Deployment
	into(t, find(t, objs, "Deployment", "moat"), &got)
	into(t, find(t, readDeploy(t, "deployment.yaml"), "Deployment", "moat"), &want)

	gp, wp := got.Spec.Template.Spec, want.Spec.Template.Spec
	if !reflect.DeepEqual(gp.SecurityContext, wp.SecurityContext) {
		t.Errorf("pod securityContext = %+v, deploy/ has %+v", gp.SecurityContext, wp.SecurityContext)
	}
	gc, wc := container(t, &got), container(t, &want)
	if !reflect.DeepEqual(gc.SecurityContext, wc.SecurityContext) {
		t.Errorf("container securityContext = %+v, deploy/ has %+v", gc.SecurityContext, wc.SecurityContext)
	}
	sc := gc.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || *gp.SecurityContext.RunAsNonRoot != true ||
		gp.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("not hardened: pod %+v container %+v", gp.SecurityContext, sc)
	}
	// The chart also names the controller class and the loopback debug
	// listener; every flag deploy/ passes, it passes the same.
	if g, w := argsWithout(gc.Args, "controller-class"), wc.Args; !slices.Equal(g, w) {
		t.Errorf("args = %q, deploy/ has %q", g, w)
	}
	for _, f := range []struct {
		what      string
		got, want any
	}{
		{"ports", portsOf(gc.Ports), portsOf(wc.Ports)},
		{"livenessProbe", gc.LivenessProbe, wc.LivenessProbe},
		{"readinessProbe", gc.ReadinessProbe, wc.ReadinessProbe},
		{"resources", gc.Resources, wc.Resources},
		{"env", gc.Env, wc.Env},
		{"volumeMounts", gc.VolumeMounts, wc.VolumeMounts},
		{"volumes", gp.Volumes, wp.Volumes},
		{"replicas", *got.Spec.Replicas, *want.Spec.Replicas},
		{"strategy", got.Spec.Strategy, want.Spec.Strategy},
		{"terminationGracePeriodSeconds", *gp.TerminationGracePeriodSeconds, *wp.TerminationGracePeriodSeconds},
		{"serviceAccountName", gp.ServiceAccountName, wp.ServiceAccountName},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("%s = %+v, deploy/ has %+v", f.what, f.got, f.want)
		}
	}
	for i := range gc.Ports {
		if gc.Ports[i].Protocol != corev1.ProtocolTCP {
			t.Errorf("port %s protocol %q", gc.Ports[i].Name, gc.Ports[i].Protocol)
		}
	}

	_, app := chartMeta(t)
	if gc.Image != "ghcr.io/moat-ingress/moat:v"+app {
		t.Errorf("image = %q, want ghcr.io/moat-ingress/moat:v%s", gc.Image, app)
	}

	var gs, ws corev1.Service
	into(t, find(t, objs, "Service", "moat"), &gs)
	into(t, find(t, readDeploy(t, "service.yaml"), "Service", "moat"), &ws)
	if gs.Spec.Type != ws.Spec.Type || gs.Spec.ExternalTrafficPolicy != ws.Spec.ExternalTrafficPolicy {
		t.Errorf("service type/policy = %s/%s, deploy/ has %s/%s", gs.Spec.Type, gs.Spec.ExternalTrafficPolicy, ws.Spec.Type, ws.Spec.ExternalTrafficPolicy)
	}
	if len(gs.Spec.Ports) != len(ws.Spec.Ports) {
		t.Fatalf("service ports %+v, deploy/ has %+v", gs.Spec.Ports, ws.Spec.Ports)
	}
	for i, p := range gs.Spec.Ports {
		w := ws.Spec.Ports[i]
		if p.Name != w.Name || p.Port != w.Port || p.TargetPort != w.TargetPort {
			t.Errorf("service port %+v, deploy/ has %+v", p, w)
		}
	}

	var gpdb, wpdb policyv1.PodDisruptionBudget
	into(t, find(t, objs, "PodDisruptionBudget", "moat"), &gpdb)
	into(t, find(t, readDeploy(t, "pdb.yaml"), "PodDisruptionBudget", "moat"), &wpdb)
	if gpdb.Spec.MinAvailable.String() != wpdb.Spec.MinAvailable.String() {
		t.Errorf("pdb minAvailable = %s, deploy/ has %s", gpdb.Spec.MinAvailable, wpdb.Spec.MinAvailable)
	}

	rbac := readDeploy(t, "rbac.yaml")
	for _, kind := range []string{"ClusterRole", "Role"} {
		var g, w struct {
			Rules []rbacv1.PolicyRule `json:"rules"`
		}
		b, _ := json.Marshal(find(t, objs, kind, "moat").Doc)
		_ = json.Unmarshal(b, &g)
		b, _ = json.Marshal(find(t, rbac, kind, "moat").Doc)
		_ = json.Unmarshal(b, &w)
		if !sameRules(g.Rules, w.Rules) {
			t.Errorf("%s rules = %+v\ndeploy/ has %+v", kind, g.Rules, w.Rules)
		}
	}

	var gic, wic networkingv1.IngressClass
	into(t, find(t, objs, "IngressClass", "moat"), &gic)
	into(t, find(t, readDeploy(t, "ingressclass.yaml"), "IngressClass", "moat"), &wic)
	if gic.Spec.Controller != wic.Spec.Controller || gic.Annotations["ingressclass.kubernetes.io/is-default-class"] != "false" {
		t.Errorf("ingressclass %+v, deploy/ has %+v", gic, wic)
	}
	for _, kind := range []string{"ServiceAccount", "ConfigMap", "ClusterRoleBinding", "RoleBinding"} {
		find(t, objs, kind, "moat")
	}
	for _, kind := range []string{"HorizontalPodAutoscaler", "NetworkPolicy", "ServiceMonitor", "PrometheusRule"} {
		for _, o := range objs {
			if o.Kind == kind {
				t.Errorf("%s rendered by default", kind)
			}
		}
	}
}

func portsOf(ps []corev1.ContainerPort) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s=%d", p.Name, p.ContainerPort))
	}
	return out
}

// sameRules compares RBAC rules as sets of (group, resource, verb, name).
func sameRules(a, b []rbacv1.PolicyRule) bool {
	flat := func(rs []rbacv1.PolicyRule) []string {
		var out []string
		for _, r := range rs {
			names := r.ResourceNames
			if len(names) == 0 {
				names = []string{"*"}
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						for _, n := range names {
							out = append(out, g+"|"+res+"|"+v+"|"+n)
						}
					}
				}
			}
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(flat(a), flat(b))
}

// TestVersionsPinned: deploy/ and the chart name the same released image
// tag, never latest.
func TestVersionsPinned(t *testing.T) {
	version, app := chartMeta(t)
	if version != app {
		t.Errorf("Chart.yaml version %s and appVersion %s differ: moat and its chart are released together", version, app)
	}
	b, err := os.ReadFile(filepath.Join(Dir(), "..", "..", "deploy", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Images []struct{ Name, NewName, NewTag, Digest string }
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	if len(k.Images) != 1 || k.Images[0].NewTag != "v"+app {
		t.Errorf("deploy/kustomization.yaml images = %+v, want newTag v%s (the chart's appVersion)", k.Images, app)
	}
	cl, err := os.ReadFile(filepath.Join(Dir(), "..", "..", "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cl), "## v"+app) {
		t.Errorf("CHANGELOG.md has no section ## v%s", app)
	}
}

// TestBadValues: a misspelt key, a wrong type and an ingress-nginx key moat
// cannot honour each fail the render with a message naming the key.
func TestBadValues(t *testing.T) {
	for _, c := range []struct {
		name, values string
		want         []string
	}{
		{"misspelt key", "controller:\n  replicaCont: 3\n", []string{"replicaCont", "controller"}},
		{"misspelt nested key", "controller:\n  service:\n    loadBalancerIp: 1.2.3.4\n", []string{"loadBalancerIp", "/controller/service"}},
		{"misspelt top key", "contoller:\n  replicaCount: 3\n", []string{"contoller"}},
		{"wrong type", "controller:\n  replicaCount: two\n", []string{"/controller/replicaCount", "integer"}},
		{"wrong enum", "controller:\n  service:\n    type: Loadbalancer\n", []string{"/controller/service/type"}},
		{"wrong digest", "controller:\n  image:\n    digest: abc\n", []string{"/controller/image/digest"}},
		{"udp privileged port", "udp:\n  \"53\": kube-system/dns:53\n", []string{"udp.53", "1024"}},
		{"tcp port not a number", "tcp:\n  ssh: apps/ssh:22\n", []string{"tcp.ssh", "a number"}},
		{"tcp port of moat", "tcp:\n  \"8443\": apps/x:1\n", []string{"tcp.8443", "moat's own"}},
		{"daemonset", "controller:\n  kind: DaemonSet\n", []string{"controller.kind=DaemonSet"}},
		{"host network", "controller:\n  hostNetwork: true\n", []string{"controller.hostNetwork"}},
		{"snippets", "controller:\n  allowSnippetAnnotations: true\n", []string{"controller.allowSnippetAnnotations", "snippets"}},
		{"snippet config", "controller:\n  config:\n    server-snippet: \"return 200;\"\n", []string{"controller.config.server-snippet"}},
		{"webhook", "controller:\n  admissionWebhooks:\n    enabled: true\n    failurePolicy: Fail\n", []string{"controller.admissionWebhooks.enabled", "moat lint"}},
		{"keda", "controller:\n  keda:\n    enabled: true\n", []string{"controller.keda.enabled", "controller.autoscaling"}},
		{"unknown flag", "controller:\n  extraArgs:\n    enable-opentelemetry: \"true\"\n", []string{"controller.extraArgs.enable-opentelemetry", "no flag --enable-opentelemetry"}},
		{"flag the chart sets", "controller:\n  extraArgs:\n    http-addr: \":9000\"\n", []string{"controller.extraArgs.http-addr", "controller.containerPort.http"}},
		{"privileged port", "controller:\n  containerPort:\n    http: 80\n", []string{"controller.containerPort.http=80", "1024"}},
		{"default backend", "defaultBackend:\n  enabled: true\n", []string{"defaultBackend.enabled"}},
		{"default backend twice", "defaultBackend:\n  service: web/errors\ncontroller:\n  extraArgs:\n    default-backend-service: web/errors\n", []string{"controller.extraArgs.default-backend-service", "defaultBackend.service"}},
		{"default backend outside scope", "defaultBackend:\n  service: web/errors\ncontroller:\n  scope:\n    enabled: true\n", []string{"defaultBackend.service web/errors", "moat-system"}},
		{"default backend not a name", "defaultBackend:\n  service: \"errors --profiling\"\n", []string{"/defaultBackend/service"}},
		{"namespace selector", "controller:\n  scope:\n    namespaceSelector: team=a\n", []string{"controller.scope.namespaceSelector"}},
		{"service monitor without metrics", "controller:\n  metrics:\n    serviceMonitor:\n      enabled: true\n", []string{"controller.metrics.serviceMonitor.enabled needs controller.metrics.enabled"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Render("moat", "moat-system", mustValues(t, c.values))
			if err == nil {
				t.Fatalf("values rendered:\n%s", c.values)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	// Several refused keys are reported together, not one per attempt.
	_, err := Render("moat", "moat-system", mustValues(t, "controller:\n  hostNetwork: true\n  sysctls:\n    net.core.somaxconn: \"8192\"\n"))
	if err == nil || !strings.Contains(err.Error(), "controller.hostNetwork") || !strings.Contains(err.Error(), "controller.sysctls") {
		t.Errorf("want both keys named, got %v", err)
	}
}

// TestIngressNginxOffValuesAccepted: a file that keeps ingress-nginx's keys
// at their "off" values (as `helm show values` of ingress-nginx has many)
// renders.
func TestIngressNginxOffValuesAccepted(t *testing.T) {
	render(t, "moat", "moat-system", mustValues(t, `
controller:
  kind: Deployment
  hostNetwork: false
  hostPort:
    enabled: false
    ports: {http: 80, https: 443}
  allowSnippetAnnotations: false
  admissionWebhooks:
    enabled: false
    failurePolicy: Fail
  keda: {enabled: false}
  opentelemetry: {enabled: false}
  maxmindLicenseKey: ""
  proxySetHeaders: {}
  addHeaders: {}
  config:
    allow-snippet-annotations: "false"
tcp: {}
udp: {}
defaultBackend: {enabled: false}
`))
}

// TestOptions: HPA, PodDisruptionBudget, NetworkPolicy, metrics Service,
// ServiceMonitor, PrometheusRule and dashboard, each when asked for.
func TestOptions(t *testing.T) {
	objs := render(t, "edge", "ingress", mustValues(t, `
controller:
  autoscaling:
    enabled: true
    minReplicas: 2
    maxReplicas: 6
    targetMemoryUtilizationPercentage: ""
  networkPolicy:
    enabled: true
  lifecycle:
    preStop:
      exec:
        command: ["/moat", "wait-shutdown"]
  terminationGracePeriodSeconds: 60
  metrics:
    enabled: true
    serviceMonitor:
      enabled: true
      additionalLabels: {release: prom}
    prometheusRule:
      enabled: true
    grafanaDashboard:
      enabled: true
`))
	var d appsv1.Deployment
	into(t, find(t, objs, "Deployment", "edge-moat"), &d)
	if d.Spec.Replicas != nil {
		t.Errorf("replicas %d set while the HPA scales", *d.Spec.Replicas)
	}
	c := container(t, &d)
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || !slices.Equal(c.Lifecycle.PreStop.Exec.Command, []string{"/moat", "wait-shutdown"}) {
		t.Errorf("lifecycle = %+v", c.Lifecycle)
	}
	if *d.Spec.Template.Spec.TerminationGracePeriodSeconds != 60 {
		t.Errorf("terminationGracePeriodSeconds = %d", *d.Spec.Template.Spec.TerminationGracePeriodSeconds)
	}
	var hpa autoscalingv2.HorizontalPodAutoscaler
	into(t, find(t, objs, "HorizontalPodAutoscaler", "edge-moat"), &hpa)
	if *hpa.Spec.MinReplicas != 2 || hpa.Spec.MaxReplicas != 6 || hpa.Spec.ScaleTargetRef.Name != "edge-moat" ||
		len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
		t.Errorf("hpa = %+v", hpa.Spec)
	}
	var pdb policyv1.PodDisruptionBudget
	into(t, find(t, objs, "PodDisruptionBudget", "edge-moat"), &pdb)
	var np networkingv1.NetworkPolicy
	into(t, find(t, objs, "NetworkPolicy", "edge-moat"), &np)
	var ports []string
	for _, p := range np.Spec.Ingress[0].Ports {
		ports = append(ports, p.Port.String())
	}
	if !slices.Equal(ports, []string{"8080", "8443", "10254"}) {
		t.Errorf("networkpolicy ports %v", ports)
	}
	var ms corev1.Service
	into(t, find(t, objs, "Service", "edge-moat-metrics"), &ms)
	if ms.Spec.Ports[0].Name != "metrics" || ms.Spec.Ports[0].TargetPort.String() != "admin" {
		t.Errorf("metrics service ports %+v", ms.Spec.Ports)
	}
	sm := find(t, objs, "ServiceMonitor", "edge-moat")
	if !strings.Contains(sm.Text, "port: metrics") || !strings.Contains(sm.Text, "release: prom") {
		t.Errorf("servicemonitor:\n%s", sm.Text)
	}

	// The PrometheusRule carries files/alerts.yaml's groups, the dashboard
	// ConfigMap files/dashboard.json, unchanged.
	alerts, err := os.ReadFile(filepath.Join(Dir(), "files", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := yaml.Unmarshal(alerts, &file); err != nil {
		t.Fatal(err)
	}
	wantGroups := file["groups"]
	if spec, ok := file["spec"].(map[string]any); ok {
		wantGroups = spec["groups"]
	}
	pr := find(t, objs, "PrometheusRule", "edge-moat")
	if got := pr.Doc["spec"].(map[string]any)["groups"]; wantGroups == nil || !reflect.DeepEqual(got, wantGroups) {
		t.Errorf("prometheusrule groups = %v, files/alerts.yaml has %v", got, wantGroups)
	}
	dash, err := os.ReadFile(filepath.Join(Dir(), "files", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	into(t, find(t, objs, "ConfigMap", "edge-moat-dashboard"), &cm)
	if cm.Labels["grafana_dashboard"] != "1" || strings.TrimSpace(cm.Data["moat.json"]) != strings.TrimSpace(string(dash)) {
		t.Errorf("dashboard configmap labels %v, data differs from files/dashboard.json: %v", cm.Labels, cm.Data["moat.json"] != string(dash))
	}
	if !json.Valid(dash) {
		t.Error("files/dashboard.json is not JSON")
	}

	// defaultBackend.service is --default-backend-service.
	into(t, find(t, render(t, "edge", "ingress", mustValues(t, "defaultBackend:\n  service: web/errors\n")), "Deployment", "edge-moat"), &d)
	if args := container(t, &d).Args; !slices.Contains(args, "--default-backend-service=web/errors") {
		t.Errorf("defaultBackend.service: args %v", args)
	}

	// A single replica has nothing to keep available.
	for _, o := range render(t, "one", "ingress", mustValues(t, "controller:\n  replicaCount: 1\n")) {
		if o.Kind == "PodDisruptionBudget" {
			t.Error("PodDisruptionBudget rendered for one replica")
		}
	}
}

// TestLint: `helm lint --strict` passes with the defaults and with every
// option on.
func TestLint(t *testing.T) {
	for name, v := range map[string]string{
		"defaults": "",
		"options":  "controller:\n  autoscaling: {enabled: true}\n  networkPolicy: {enabled: true}\n  scope: {enabled: true}\n  metrics:\n    enabled: true\n    serviceMonitor: {enabled: true}\n    prometheusRule: {enabled: true}\n    grafanaDashboard: {enabled: true}\n",
	} {
		if msgs := Lint("moat-system", mustValues(t, v)); len(msgs) > 0 {
			t.Errorf("lint %s:\n%s", name, strings.Join(msgs, "\n"))
		}
	}
	// Lint checks the schema too.
	if msgs := Lint("moat-system", mustValues(t, "controller:\n  replicaCont: 3\n")); len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), "replicaCont") {
		t.Errorf("lint of a misspelt key: %q", msgs)
	}
}

// TestPortIngressNginxValues: a values file written for the ingress-nginx
// chart, using the keys users set, renders the equivalent moat install.
func TestPortIngressNginxValues(t *testing.T) {
	b, err := os.ReadFile("testdata/ingress-nginx-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs := render(t, "ingress-nginx", "ingress-nginx", mustValues(t, string(b)))
	name := "ingress-nginx-moat"

	var d appsv1.Deployment
	into(t, find(t, objs, "Deployment", name), &d)
	c := container(t, &d)
	if c.Image != "registry.example.com/mirror/moat:v0.1.0" || c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("image %s pull %s", c.Image, c.ImagePullPolicy)
	}
	for _, want := range []string{
		"--ingress-class=public",
		"--controller-class=k8s.io/ingress-nginx",
		"--watch-ingress-without-class=true",
		"--election-id=public-leader",
		"--watch-namespace=apps",
		"--publish-service=$(POD_NAMESPACE)/" + name,
		"--configmap=$(POD_NAMESPACE)/" + name,
		"--default-ssl-certificate=ingress/wildcard-tls",
		"--enable-ssl-passthrough=true",
	} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %q lack %s", c.Args, want)
		}
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "TZ" && e.Value == "Europe/Berlin" }) {
		t.Errorf("env %+v lacks TZ", c.Env)
	}
	if c.Resources.Requests.Cpu().String() != "250m" || c.Resources.Requests.Memory().String() != "256Mi" {
		t.Errorf("resources %+v", c.Resources)
	}
	ps := d.Spec.Template.Spec
	if ps.NodeSelector["node-role/ingress"] != "true" || len(ps.Tolerations) != 1 || ps.Tolerations[0].Value != "ingress" ||
		ps.Affinity.PodAntiAffinity == nil || len(ps.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 ||
		len(ps.TopologySpreadConstraints) != 1 || ps.TopologySpreadConstraints[0].TopologyKey != "topology.kubernetes.io/zone" {
		t.Errorf("scheduling: nodeSelector %v tolerations %v affinity %+v spread %+v", ps.NodeSelector, ps.Tolerations, ps.Affinity, ps.TopologySpreadConstraints)
	}

	var svc corev1.Service
	into(t, find(t, objs, "Service", name), &svc)
	s := svc.Spec
	if s.Type != corev1.ServiceTypeLoadBalancer || s.LoadBalancerIP != "198.51.100.7" || !slices.Equal(s.LoadBalancerSourceRanges, []string{"203.0.113.0/24"}) ||
		s.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal || svc.Annotations["service.beta.kubernetes.io/aws-load-balancer-type"] != "nlb" {
		t.Errorf("service %+v annotations %v", s, svc.Annotations)
	}
	if len(s.Ports) != 2 || s.Ports[0].NodePort != 30080 || s.Ports[1].NodePort != 30443 || s.Ports[0].Port != 80 || s.Ports[1].Port != 443 {
		t.Errorf("service ports %+v", s.Ports)
	}

	var ic networkingv1.IngressClass
	into(t, find(t, objs, "IngressClass", "public"), &ic)
	if ic.Spec.Controller != "k8s.io/ingress-nginx" || ic.Annotations["ingressclass.kubernetes.io/is-default-class"] != "true" {
		t.Errorf("ingressclass %+v", ic)
	}

	var cm corev1.ConfigMap
	into(t, find(t, objs, "ConfigMap", name), &cm)
	if !reflect.DeepEqual(cm.Data, map[string]string{"use-forwarded-headers": "true", "hsts": "false", "proxy-body-size": "20m"}) {
		t.Errorf("configmap data %v", cm.Data)
	}

	var hpa autoscalingv2.HorizontalPodAutoscaler
	into(t, find(t, objs, "HorizontalPodAutoscaler", name), &hpa)
	if *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 9 || len(hpa.Spec.Metrics) != 2 ||
		*hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 70 || *hpa.Spec.Metrics[1].Resource.Target.AverageUtilization != 80 {
		t.Errorf("hpa %+v", hpa.Spec)
	}
	if d.Spec.Replicas != nil {
		t.Errorf("deployment replicas set (%d) while autoscaling", *d.Spec.Replicas)
	}
	var pdb policyv1.PodDisruptionBudget
	into(t, find(t, objs, "PodDisruptionBudget", name), &pdb)
	if pdb.Spec.MinAvailable.IntValue() != 2 {
		t.Errorf("pdb %+v", pdb.Spec)
	}

	// scope: the namespaced resources are read in "apps" only.
	var role rbacv1.Role
	into(t, find(t, objs, "Role", name+"-scope"), &role)
	if role.Namespace != "apps" {
		t.Errorf("scope role in %q", role.Namespace)
	}
	var cr rbacv1.ClusterRole
	into(t, find(t, objs, "ClusterRole", name), &cr)
	for _, r := range cr.Rules {
		// Only the cluster-scoped classes (IngressClass, GatewayClass)
		// and Namespaces.
		if !slices.Equal(r.Resources, []string{"ingressclasses"}) && !slices.Equal(r.Resources, []string{"gatewayclasses"}) &&
			!slices.Equal(r.Resources, []string{"gatewayclasses/status"}) && !slices.Equal(r.Resources, []string{"namespaces"}) {
			t.Errorf("scoped install has cluster-wide rule %+v", r)
		}
	}
	var lease rbacv1.Role
	into(t, find(t, objs, "Role", name), &lease)
	if !slices.ContainsFunc(lease.Rules, func(r rbacv1.PolicyRule) bool { return slices.Contains(r.ResourceNames, "public-leader") }) {
		t.Errorf("lease role does not name public-leader: %+v", lease.Rules)
	}

	find(t, objs, "Service", name+"-metrics")
	sm := find(t, objs, "ServiceMonitor", name)
	if !strings.Contains(sm.Text, "release: prometheus") {
		t.Errorf("servicemonitor labels:\n%s", sm.Text)
	}
	pr := find(t, objs, "PrometheusRule", name)
	if !strings.Contains(pr.Text, "alert: IngressErrors") || strings.Contains(pr.Text, "MoatDown") {
		t.Errorf("prometheusrule does not carry the file's rules only:\n%s", pr.Text)
	}

	// Every document decodes into its Kubernetes type.
	for _, o := range objs {
		var v runtime.Object
		switch o.Kind {
		case "ServiceAccount":
			v = &corev1.ServiceAccount{}
		case "ClusterRoleBinding":
			v = &rbacv1.ClusterRoleBinding{}
		case "RoleBinding":
			v = &rbacv1.RoleBinding{}
		default:
			continue
		}
		into(t, o, v)
	}
}

// TestMonitoringFilesMatchDeploy: Helm reads only files inside the chart,
// so the chart carries copies of deploy/monitoring's dashboard and alert
// rules (which test/e2e TestPromQL evaluates); they must not drift.
func TestMonitoringFilesMatchDeploy(t *testing.T) {
	for _, name := range []string{"dashboard.json", "alerts.yaml"} {
		want, err := os.ReadFile(filepath.Join("..", "..", "deploy", "monitoring", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", "charts", "moat", "files", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("charts/moat/files/%s differs from deploy/monitoring/%s: copy it (cp deploy/monitoring/%s charts/moat/files/)", name, name, name)
		}
	}
}

// TestStreamValues: ingress-nginx's tcp and udp values become the
// services ConfigMaps, the flags naming them, and the ports of the pod,
// the Service (with pinned node ports) and the NetworkPolicy.
func TestStreamValues(t *testing.T) {
	objs := render(t, "edge", "ingress", mustValues(t, `
tcp:
  "5432": "db/postgres:5432:PROXY"
udp:
  "5353": "kube-system/dns:dns"
controller:
  networkPolicy: {enabled: true}
  service:
    type: NodePort
    nodePorts:
      tcp: {"5432": 30432}
`))
	for _, c := range []struct{ name, key, value string }{{"edge-moat-tcp", "5432", "db/postgres:5432:PROXY"}, {"edge-moat-udp", "5353", "kube-system/dns:dns"}} {
		var cm corev1.ConfigMap
		into(t, find(t, objs, "ConfigMap", c.name), &cm)
		if len(cm.Data) != 1 || cm.Data[c.key] != c.value {
			t.Errorf("configmap %s data %v", c.name, cm.Data)
		}
	}
	var d appsv1.Deployment
	into(t, find(t, objs, "Deployment", "edge-moat"), &d)
	ctr := container(t, &d)
	for _, want := range []string{"--tcp-services-configmap=$(POD_NAMESPACE)/edge-moat-tcp", "--udp-services-configmap=$(POD_NAMESPACE)/edge-moat-udp"} {
		if !slices.Contains(ctr.Args, want) {
			t.Errorf("args %v lack %s", ctr.Args, want)
		}
	}
	var got []string
	for _, p := range ctr.Ports {
		got = append(got, fmt.Sprintf("%s:%d/%s", p.Name, p.ContainerPort, p.Protocol))
	}
	if !slices.Contains(got, "5432-tcp:5432/TCP") || !slices.Contains(got, "5353-udp:5353/UDP") {
		t.Errorf("container ports %v", got)
	}
	var svc corev1.Service
	into(t, find(t, objs, "Service", "edge-moat"), &svc)
	var sp []string
	for _, p := range svc.Spec.Ports {
		sp = append(sp, fmt.Sprintf("%s:%d/%s->%s@%d", p.Name, p.Port, p.Protocol, p.TargetPort.String(), p.NodePort))
	}
	if !slices.Contains(sp, "5432-tcp:5432/TCP->5432-tcp@30432") || !slices.Contains(sp, "5353-udp:5353/UDP->5353-udp@0") {
		t.Errorf("service ports %v", sp)
	}
	var np networkingv1.NetworkPolicy
	into(t, find(t, objs, "NetworkPolicy", "edge-moat"), &np)
	var npp []string
	for _, p := range np.Spec.Ingress[0].Ports {
		npp = append(npp, fmt.Sprintf("%s/%s", p.Port.String(), *p.Protocol))
	}
	if !slices.Contains(npp, "5432/TCP") || !slices.Contains(npp, "5353/UDP") {
		t.Errorf("networkpolicy ports %v", npp)
	}
	var role rbacv1.Role
	into(t, find(t, objs, "Role", "edge-moat"), &role)
	if names := role.Rules[2].ResourceNames; !slices.Equal(names, []string{"edge-moat", "edge-moat-tcp", "edge-moat-udp"}) {
		t.Errorf("configmap resourceNames %v", names)
	}
}

// TestHTTP3: controller.http3.enabled passes --http3 and opens the HTTPS
// port over UDP in the container, the Service and the NetworkPolicy; off
// (the default), none of it is rendered.
func TestHTTP3(t *testing.T) {
	for _, on := range []bool{false, true} {
		objs := render(t, "edge", "ingress", mustValues(t, fmt.Sprintf("controller:\n  http3:\n    enabled: %v\n  networkPolicy:\n    enabled: true\n", on)))
		var d appsv1.Deployment
		into(t, find(t, objs, "Deployment", "edge-moat"), &d)
		c := container(t, &d)
		var udp []string
		for _, p := range c.Ports {
			if p.Protocol == corev1.ProtocolUDP {
				udp = append(udp, fmt.Sprintf("%s/%d", p.Name, p.ContainerPort))
			}
		}
		var svc corev1.Service
		into(t, find(t, objs, "Service", "edge-moat"), &svc)
		for _, p := range svc.Spec.Ports {
			if p.Protocol == corev1.ProtocolUDP {
				udp = append(udp, fmt.Sprintf("svc %s/%d->%s", p.Name, p.Port, p.TargetPort.String()))
			}
		}
		var np networkingv1.NetworkPolicy
		into(t, find(t, objs, "NetworkPolicy", "edge-moat"), &np)
		for _, p := range np.Spec.Ingress[0].Ports {
			if p.Protocol != nil && *p.Protocol == corev1.ProtocolUDP {
				udp = append(udp, "np "+p.Port.String())
			}
		}
		want := []string{"http3/8443", "svc http3/443->http3", "np 8443"}
		if !on {
			want = nil
		}
		if !slices.Equal(udp, want) {
			t.Errorf("http3 %v: UDP ports %v, want %v", on, udp, want)
		}
		if got := slices.Contains(c.Args, "--http3"); got != on {
			t.Errorf("http3 %v: --http3 in args: %v", on, got)
		}
	}
	if _, err := Render("edge", "ingress", mustValues(t, "controller:\n  extraArgs:\n    http3: \"true\"\n")); err == nil || !strings.Contains(err.Error(), "controller.http3.enabled") {
		t.Errorf("extraArgs.http3: %v, want a refusal naming controller.http3.enabled", err)
	}
}

// TestTmpVolume: /tmp is always a writable emptyDir (the root file
// system is read-only), next to the user's extraVolumes.
func TestTmpVolume(t *testing.T) {
	objs := render(t, "moat", "moat-system", map[string]any{"controller": map[string]any{
		"extraVolumes":      []any{map[string]any{"name": "plugins", "emptyDir": map[string]any{}}},
		"extraVolumeMounts": []any{map[string]any{"name": "plugins", "mountPath": "/plugins"}},
	}})
	var d appsv1.Deployment
	into(t, find(t, objs, "Deployment", "moat"), &d)
	c := container(t, &d)
	var names, mounts []string
	for _, v := range d.Spec.Template.Spec.Volumes {
		names = append(names, v.Name)
	}
	for _, m := range c.VolumeMounts {
		mounts = append(mounts, m.Name+":"+m.MountPath)
	}
	if !slices.Equal(names, []string{"tmp", "plugins"}) || !slices.Equal(mounts, []string{"tmp:/tmp", "plugins:/plugins"}) {
		t.Errorf("volumes %v, mounts %v", names, mounts)
	}
}
