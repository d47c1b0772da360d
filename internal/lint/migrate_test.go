package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/registry"
	"github.com/moat-ingress/moat/internal/lint/cluster"
)

// keyWith returns an annotation key (with prefix) whose support is st,
// chosen from the registry so that the test follows the tables.
func keyWith(t *testing.T, st annotations.Status) string {
	t.Helper()
	var names []string
	for n, k := range registry.Known() {
		if k.Status == st && k.AliasOf == "" && !annotations.IsSnippet(n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		t.Fatalf("no annotation is %s today: pick another status for this test", st)
	}
	sort.Strings(names)
	return annotations.DefaultPrefix + "/" + names[0]
}

func migrationObjects(refused, partial string) []runtime.Object {
	class := func(c string) *string { return &c }
	prefix := networkingv1.PathTypePrefix
	ingress := func(name, cls, svc string, ann map[string]string) *networkingv1.Ingress {
		return &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Annotations: ann},
			Spec: networkingv1.IngressSpec{IngressClassName: class(cls), Rules: []networkingv1.IngressRule{{
				Host: name + ".shop.example",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: &prefix,
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: 80}}},
				}}}},
			}}},
		}
	}
	ready := true
	port := int32(8080)
	return []runtime.Object{
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Port: &port}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unrelated", Namespace: "shop"}, Data: map[string][]byte{"password": []byte("hunter2")}},
		ingress("ready", "nginx", "web", nil),
		ingress("legacy", "nginx", "web", map[string]string{refused: "x", partial: "1"}),
		ingress("broken", "nginx", "missing", nil),
		ingress("elsewhere", "traefik", "web", nil),
		// Another namespace, not read with -n shop.
		&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "other-ns", Namespace: "blog"}},
	}
}

// TestMigrationReport runs the report against a fake API server: the
// Ingress with an unsupported annotation is reported, with the verdict of
// every Ingress and the summary.
func TestMigrationReport(t *testing.T) {
	refused, partial := keyWith(t, annotations.Refused), keyWith(t, annotations.Partial)
	client := fake.NewClientset(migrationObjects(refused, partial)...)
	objs, err := cluster.List(context.Background(), client, "shop", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if s, ok := o.Obj.(*corev1.Secret); ok && len(s.Data["password"]) > 0 {
			t.Errorf("the report keeps non-TLS Secret data in memory")
		}
	}
	r := RunObjects(objs, Options{IngressClass: "nginx", WatchWithoutClass: true, Now: testNow})
	m := r.Migration("")
	got := map[string]IngressReport{}
	for _, rep := range m.Ingresses {
		got[rep.Name] = rep
	}
	if v := got["ready"].Verdict; v != VerdictSupported {
		t.Errorf("ready: %s %v", v, got["ready"].Diagnostics)
	}
	legacy := got["legacy"]
	if legacy.Verdict != VerdictWarnings || len(legacy.Annotations) != 2 ||
		legacy.Annotations[0].Key > legacy.Annotations[1].Key {
		t.Errorf("legacy: %+v", legacy)
	}
	supports := map[string]string{}
	for _, a := range legacy.Annotations {
		supports[a.Key] = a.Support
	}
	if supports[refused] != "refused" || supports[partial] != "partial" {
		t.Errorf("legacy annotations: %v", supports)
	}
	if got["broken"].Verdict != VerdictErrors || got["broken"].Diagnostics[0].Reason != "ServiceNotFound" {
		t.Errorf("broken: %+v", got["broken"])
	}
	// The traefik Ingress is listed as not served, and not checked as
	// nginx.
	if e := got["elsewhere"]; e.Verdict != VerdictNotServed || e.Class != "traefik" || len(e.Diagnostics) != 1 || e.Diagnostics[0].Reason != ReasonIngressNotServed {
		t.Errorf("elsewhere: %+v", e)
	}
	if m.Summary != (MigrationSummary{Ingresses: 3, Supported: 1, WithWarnings: 1, WithErrors: 1, NotChecked: 1, NotServed: 1}) {
		t.Errorf("summary = %+v", m.Summary)
	}

	var b bytes.Buffer
	if err := WriteMigrationText(&b, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ingress shop/legacy (class nginx): works, with warnings\n  annotation ",
		"  annotation " + refused + ": not supported: ",
		"  annotation " + partial + ": partly supported: ",
		"ingress shop/broken (class nginx): has errors\n  error ServiceNotFound (spec.rules[0].http.paths[0].backend.service.name): service \"missing\" not found",
		"ingress shop/elsewhere (class traefik): not served by moat\n  warning IngressNotServed (spec.ingressClassName): ingress class \"traefik\"",
		"3 Ingresses: 1 fully supported, 1 with warnings, 1 with errors; 1 not served by moat (1 of other classes, not checked)\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := WriteMigrationJSON(&b, m); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Ingresses []struct{ Name, Verdict string }
		Summary   MigrationSummary
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Summary != m.Summary {
		t.Errorf("JSON: %v\n%s", err, b.String())
	}
}

// TestMigrationReportConfigMap: with --configmap naming ingress-nginx's
// controller ConfigMap (in another namespace than the one read), the
// report lists the keys moat does not apply as written.
func TestMigrationReportConfigMap(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx-controller", Namespace: "ingress-nginx"},
		Data: map[string]string{"proxy-body-size": "8m", "enable-opentracing": "true", "hsts-max-age": "a year"}}
	client := fake.NewClientset(cm)
	const name = "ingress-nginx/ingress-nginx-controller"
	objs, err := cluster.List(context.Background(), client, "shop", name)
	if err != nil {
		t.Fatal(err)
	}
	m := RunObjects(objs, Options{IngressClass: "nginx", ConfigMap: name, Now: testNow}).Migration("")
	if m.ConfigMap == nil || !m.ConfigMap.Found || m.ConfigMap.Keys != 3 || len(m.ConfigMap.Notes) != 2 {
		t.Fatalf("configmap report = %+v", m.ConfigMap)
	}
	if n := m.ConfigMap.Notes; n[0].Key != "enable-opentracing" || n[0].Support != "unknown" || n[1].Key != "hsts-max-age" || n[1].Support != "invalid" {
		t.Errorf("notes = %+v", n)
	}
	var b bytes.Buffer
	if err := WriteMigrationText(&b, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"controller configmap " + name + ": 3 keys, 2 not applied as written\n",
		"  key enable-opentracing: not supported: ",
		"  key hsts-max-age: invalid: ",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}

	m = RunObjects(nil, Options{ConfigMap: "ingress-nginx/missing", Now: testNow}).Migration("")
	if m.ConfigMap == nil || m.ConfigMap.Found {
		t.Errorf("missing configmap: %+v", m.ConfigMap)
	}
}

// TestMigrationReportTCPServices: the tcp-services ConfigMap of
// ingress-nginx's namespace is read with the namespace checked, and its
// entries are checked as moat would serve them.
func TestMigrationReportTCPServices(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tcp-services", Namespace: "ingress-nginx"},
		Data: map[string]string{"5432": "shop/postgres:5432", "8080": "shop/web:80"}}
	objs, err := cluster.List(context.Background(), fake.NewClientset(cm), "shop", "", "ingress-nginx/tcp-services")
	if err != nil {
		t.Fatal(err)
	}
	r := RunObjects(objs, Options{IngressClass: "nginx", TCPServices: "ingress-nginx/tcp-services", Now: testNow})
	got := map[string]string{}
	for _, d := range r.Diagnostics {
		if d.Object.Name == "tcp-services" {
			got[d.Field] = d.Reason
		}
	}
	if got["data.5432"] != "StreamServiceNotFound" || got["data.8080"] != "StreamPortReserved" {
		t.Errorf("tcp-services findings %v", got)
	}
}

// TestMigrationReportRefusedKey: a key moat refuses on purpose is listed
// as refused, with the reason.
func TestMigrationReportRefusedKey(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx-controller", Namespace: "ingress-nginx"},
		Data: map[string]string{"worker-processes": "4", "http-snippet": "map $x $y {}", "proxy-body-size": "8m"}}
	const name = "ingress-nginx/ingress-nginx-controller"
	objs, err := cluster.List(context.Background(), fake.NewClientset(cm), "shop", name)
	if err != nil {
		t.Fatal(err)
	}
	m := RunObjects(objs, Options{IngressClass: "nginx", ConfigMap: name, Now: testNow}).Migration("")
	if m.ConfigMap == nil || len(m.ConfigMap.Notes) != 2 {
		t.Fatalf("configmap report = %+v", m.ConfigMap)
	}
	if n := m.ConfigMap.Notes; n[0].Key != "http-snippet" || n[0].Support != "refused" || n[1].Key != "worker-processes" || n[1].Support != "refused" {
		t.Errorf("notes = %+v", n)
	}
	var b bytes.Buffer
	if err := WriteMigrationText(&b, m); err != nil {
		t.Fatal(err)
	}
	if want := "  key http-snippet: refused: "; !strings.Contains(b.String(), want) || !strings.Contains(b.String(), "snippets") {
		t.Errorf("report lacks %q and the reason:\n%s", want, b.String())
	}
}

// TestFromClusterReadsGlobalHeaderConfigMaps: the ConfigMaps that the
// controller ConfigMap's proxy-set-headers and add-headers name are read
// even outside the namespace listed, so lint does not report them
// missing.
func TestFromClusterReadsGlobalHeaderConfigMaps(t *testing.T) {
	ctrl := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx-controller", Namespace: "ingress-nginx"},
		Data: map[string]string{"proxy-set-headers": "ingress-nginx/up", "add-headers": "ingress-nginx/gone"}}
	up := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "up", Namespace: "ingress-nginx"}, Data: map[string]string{"X-Env": "prod"}}
	const name = "ingress-nginx/ingress-nginx-controller"
	objs, err := cluster.List(context.Background(), fake.NewClientset(ctrl, up), "shop", name)
	if err != nil {
		t.Fatal(err)
	}
	res := RunObjects(objs, Options{IngressClass: "nginx", ConfigMap: name, Now: testNow})
	var found []string
	for _, d := range res.Diagnostics {
		if d.Reason == "GlobalHeadersNotFound" {
			found = append(found, d.Message)
		}
	}
	if len(found) != 1 || !strings.Contains(found[0], "ingress-nginx/gone") {
		t.Errorf("GlobalHeadersNotFound: %v", found)
	}
}
