package k8s

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/diag"
)

// TestBlogManifests decodes the manifests of the blog post moat grew from,
// verbatim: two extensions/v1beta1 Ingresses, a Service, and a Secret
// whose data is the literal placeholder "CERT BASE64 STRING GOES HERE".
func TestBlogManifests(t *testing.T) {
	data, err := os.ReadFile("testdata/blog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, diags := Decode(data, "testdata/blog.yaml")
	checkKeys(t, objs,
		"Service default/web-service@3",
		"Ingress default/web-ingress@15",
		"Secret application/app-router-tls@30",
		"Ingress default/web-app-tls@40")
	checkDiags(t, diags,
		want{sev: diag.Warning, reason: ReasonDeprecatedAPI, line: 15, in: "extensions/v1beta1"},
		want{sev: diag.Warning, reason: ReasonDeprecatedAPI, line: 40, in: "extensions/v1beta1"},
		want{sev: diag.Error, reason: ReasonInvalidBase64, line: 32, field: "data.tls.crt",
			in: "testdata/blog.yaml:32: secret application/app-router-tls: data.tls.crt: value is not valid base64"},
		want{sev: diag.Error, reason: ReasonInvalidBase64, line: 33, field: "data.tls.key"},
	)

	web := objs[1].Obj.(*networkingv1.Ingress)
	p := web.Spec.Rules[0].HTTP.Paths[0]
	if p.Path != "/" || *p.PathType != networkingv1.PathTypeImplementationSpecific ||
		p.Backend.Service.Name != "web-service" || p.Backend.Service.Port.Number != 80 {
		t.Errorf("web-ingress path = %+v", p)
	}
	tlsIng := objs[3].Obj.(*networkingv1.Ingress)
	// The post's tls block is two entries (hosts without a secret, then a
	// secret without hosts); decoding keeps it as written for translate
	// to diagnose.
	if len(tlsIng.Spec.TLS) != 2 || tlsIng.Spec.TLS[1].SecretName != "router-tls" ||
		tlsIng.Spec.Rules[0].Host != "${YOUR_CERTIFICATE_COMMON_NAME}" {
		t.Errorf("web-app-tls spec = %+v", tlsIng.Spec)
	}
	if tlsIng.Annotations["kubernetes.io/ingress.class"] != "nginx" {
		t.Errorf("annotations = %v", tlsIng.Annotations)
	}
	if s := objs[2].Obj.(*corev1.Secret); len(s.Data) != 0 || s.Type != corev1.SecretTypeOpaque {
		t.Errorf("secret = %+v", s)
	}
}

// TestBlogSeedBlocks checks that every complete manifest in the post
// itself decodes to one object, so testdata/blog.yaml cannot drift from
// it unnoticed. It needs the seed file, which lives outside the module.
func TestBlogSeedBlocks(t *testing.T) {
	// shared/ sits beside the repository (in CI too); /work/shared is where
	// the development machines keep it.
	var data []byte
	var err error
	for _, dir := range []string{filepath.Join("..", "..", ".."), "/work"} {
		if data, err = os.ReadFile(filepath.Join(dir, "shared", "seed", "000_81a0a627fb873375.txt")); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("the blog post this project grew from is missing (%v): it is expected in shared/ beside the repository", err)
	}
	fixture, err := os.ReadFile("testdata/blog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(data), "```")
	n := 0
	for i := 1; i < len(parts); i += 2 {
		block := strings.TrimPrefix(parts[i], "\n")
		if !strings.Contains(block, "apiVersion:") || !strings.Contains(block, "kind:") {
			continue // a fragment, not a manifest
		}
		n++
		if !strings.Contains(string(fixture), block) {
			t.Errorf("testdata/blog.yaml lacks the post's manifest:\n%s", block)
		}
		objs, diags := Decode([]byte(block), "seed.txt")
		if len(objs) != 1 || diag.AtLeast(diags, diag.Error) && !strings.Contains(block, "kind: Secret") {
			t.Errorf("block decoded to %v, %s", keys(objs), dump(diags))
		}
	}
	if n != 4 {
		t.Errorf("found %d manifests in the post, want 4", n)
	}
}
