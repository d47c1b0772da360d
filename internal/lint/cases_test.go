package lint

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/certkit"
)

// testNow is the clock of the cases; test certificates are valid for 2026.
var testNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// codeCase is one manifest set that must produce a code on an object at
// file:line. Files are written to a temporary directory; "m.yaml" is the
// usual name. CERT(names)/KEY(names) expand to base64 PEM (see certs).
type codeCase struct {
	code  string
	files map[string]string
	// paths overrides the paths linted (relative to the directory).
	paths []string
	opts  func(*Options)
	obj   string // diag.ObjectRef.String(), e.g. "ingress default/web"
	at    string // "m.yaml:12"
}

// svc is a Service named web with port 80 and a ready endpoint, shared by
// cases that need a working backend.
const svc = `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 80}]
endpoints: [{addresses: [10.0.0.1]}]
`

// ing returns a v1 Ingress named name for host with one Prefix "/" path
// to web:80, with extra lines spliced in under spec (indented by two).
func ing(name, host, spec string) string {
	return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ` + name + `
spec:
` + spec + `  rules:
  - host: ` + host + `
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: web, port: {number: 80}}}
`
}

// annotate adds annotations (key: value lines, prefixed with
// nginx.ingress.kubernetes.io/ unless they name a prefix) to a manifest
// from ing.
func annotate(y string, kv ...string) string {
	var b strings.Builder
	b.WriteString("  annotations:\n")
	for _, l := range kv {
		if k, _, _ := strings.Cut(l, ":"); !strings.Contains(k, "/") {
			l = "nginx.ingress.kubernetes.io/" + l
		}
		b.WriteString("    " + l + "\n")
	}
	i := strings.Index(y, "metadata:\n  name: ")
	j := i + strings.Index(y[i:], "\nspec:") + 1
	return y[:j] + b.String() + y[j:]
}

func tlsSecret(name, crt, key string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: %s}
type: kubernetes.io/tls
data:
  tls.crt: %s
  tls.key: %s
`, name, crt, key)
}

var codeCases = []codeCase{
	// internal/k8s: decoding.
	{code: "ManifestParseError", files: map[string]string{"m.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web\n"}, at: "m.yaml:3"},
	{code: "ManifestInvalid", files: map[string]string{"m.yaml": "apiVersion: v1\nkind: Service\nmetadata: {namespace: shop}\n"}, obj: "service shop/", at: "m.yaml:1"},
	{code: "UnknownKind", files: map[string]string{"m.yaml": "apiVersion: v1\nkind: service\nmetadata: {name: web}\n"}, obj: "service web", at: "m.yaml:2"},
	{code: "UnsupportedAPIVersion", files: map[string]string{"m.yaml": "# old\napiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata: {name: web-1}\n"},
		obj: "endpointslice default/web-1", at: "m.yaml:2"},
	{code: "DeprecatedAPIVersion", files: map[string]string{"m.yaml": "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\nspec:\n  backend: {serviceName: web, servicePort: 80}\n"},
		obj: "ingress default/old", at: "m.yaml:1"},
	{code: "UnknownField", files: map[string]string{"m.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: 80\n    targetPrt: 8080\n"},
		obj: "service default/web", at: "m.yaml:7"},
	{code: "DuplicateField", files: map[string]string{"m.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  name: web2\n"}, obj: "service default/web2", at: "m.yaml:5"},
	{code: "NonStringValue", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "  name: web\n", "  name: web\n  annotations:\n    nginx.ingress.kubernetes.io/use-regex: true\n", 1)},
		obj: "ingress default/web", at: "m.yaml:18"},
	{code: "QuotedPortNumber", files: map[string]string{"m.yaml": "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: old}\nspec:\n  rules:\n  - http:\n      paths:\n      - path: /\n        backend:\n          serviceName: web\n          servicePort: \"80\"\n"},
		obj: "ingress default/old", at: "m.yaml:11"},
	{code: "InvalidSecretData", files: map[string]string{"m.yaml": tlsSecret("s", "CERT BASE64 STRING GOES HERE", "KEY(a.example.com)")}, obj: "secret default/s", at: "m.yaml:6"},
	{code: "InvalidEndpoints", files: map[string]string{"m.yaml": "apiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\nsubsets:\n- addresses:\n  - ip: 10.0.0.300\n  ports: [{port: 80}]\n"},
		obj: "endpoints default/web", at: "m.yaml:6"},
	{code: "PathNotFound", files: map[string]string{"m.yaml": svc}, paths: []string{"missing.yaml"}, at: "missing.yaml"},
	{code: "FileReadError", files: map[string]string{"loop.yaml": "SYMLINK:loop.yaml"}, paths: []string{"loop.yaml"}, at: "loop.yaml"},
	{code: "DuplicateObject", files: map[string]string{"a.yaml": svc, "b.yaml": "\n" + svc}, obj: "service default/web", at: "b.yaml:2"},
	// internal/lint.
	{code: "NoManifests", files: map[string]string{"notes.txt": "nothing here"}, at: "."},

	// internal/translate: Ingress semantics.
	{code: "AnnotationInvalidValue", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "  name: web\n", "  name: web\n  annotations:\n    nginx.ingress.kubernetes.io/use-regex: \"maybe\"\n", 1)},
		obj: "ingress default/web", at: "m.yaml:18"},
	{code: "AnnotationPrefixIgnored", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "  name: web\n", "  name: web\n  annotations:\n    ingress.kubernetes.io/rewrite-target: /\n", 1)},
		obj: "ingress default/web", at: "m.yaml:18"},
	{code: "AnnotationUnknown", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "  name: web\n", "  name: web\n  annotations:\n    nginx.ingress.kubernetes.io/rewrite-targte: /\n", 1)},
		obj: "ingress default/web", at: "m.yaml:18"},
	{code: "DeprecatedClassAnnotation", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "  name: web\n", "  name: web\n  annotations:\n    kubernetes.io/ingress.class: nginx\n", 1)},
		obj: "ingress default/web", at: "m.yaml:18"},
	// internal/lint's gate (gate.go).
	{code: "IngressNotServed", files: map[string]string{"m.yaml": svc + "---\n" + ing("web", "a.example.com", "  ingressClassName: nginx\n")},
		obj: "ingress default/web", at: "m.yaml:18"},
	{code: "IngressClassUnclaimed", files: map[string]string{"m.yaml": svc + "---\n" + ing("web", "a.example.com", "  ingressClassName: nginx-internal\n") +
		"---\napiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {name: nginx}\nspec: {controller: k8s.io/ingress-nginx}\n"},
		opts: func(o *Options) { o.IngressClass = "nginx"; o.ControllerClass = "k8s.io/ingress-nginx" }, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "TLSSecretFromCertManager", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", "  tls: [{hosts: [a.example.com], secretName: web-tls}]\n"),
		"  name: web\n", "  name: web\n  annotations: {cert-manager.io/cluster-issuer: letsencrypt}\n", 1)}, obj: "ingress default/web", at: "m.yaml:19"},
	{code: "IngressEmpty", files: map[string]string{"m.yaml": "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\nspec: {}\n"}, obj: "ingress default/web", at: "m.yaml:4"},
	{code: "InvalidHost", files: map[string]string{"m.yaml": svc + "---\n" + ing("web", "${YOUR_CERTIFICATE_COMMON_NAME}", "")}, obj: "ingress default/web", at: "m.yaml:19"},
	{code: "InvalidPath", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(strings.Replace(ing("web", "a.example.com", ""), "path: /", "path: api", 1), "Prefix", "ImplementationSpecific", 1)},
		obj: "ingress default/web", at: "m.yaml:22"},
	{code: "InvalidPathType", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "Prefix", "Regex", 1)}, obj: "ingress default/web", at: "m.yaml:23"},
	{code: "InvalidPathRegex", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(strings.Replace(strings.Replace(ing("web", "a.example.com", ""), "path: /", "path: /(api", 1), "Prefix", "ImplementationSpecific", 1),
		"  name: web\n", "  name: web\n  annotations: {nginx.ingress.kubernetes.io/use-regex: \"true\"}\n", 1)}, obj: "ingress default/web", at: "m.yaml:23"},
	{code: "PathLooksLikeRegex", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "path: /", "path: /api/.*", 1)}, obj: "ingress default/web", at: "m.yaml:22"},
	{code: "PathTypeMissing", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "        pathType: Prefix\n", "", 1)}, obj: "ingress default/web", at: "m.yaml:22"},
	{code: "PrefixTrailingSlash", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "- path: /\n", "- path: /app/\n", 1)},
		obj: "ingress default/web", at: "m.yaml:22"},
	{code: "WildcardHostOneLabel", files: map[string]string{"m.yaml": svc + "---\n" + ing("web", `"*.example.com"`, "")}, obj: "ingress default/web", at: "m.yaml:19"},
	// Equal creation times: the greater namespace/name is "older" (ingress-nginx).
	{code: "PathConflict", files: map[string]string{"m.yaml": svc, "a.yaml": ing("first", "a.example.com", ""), "b.yaml": ing("second", "a.example.com", "")},
		obj: "ingress default/first", at: "a.yaml:10"},
	{code: "DefaultBackendConflict", files: map[string]string{"m.yaml": svc,
		"a.yaml": "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a}\nspec:\n  defaultBackend: {service: {name: web, port: {number: 80}}}\n",
		"b.yaml": "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: b}\nspec:\n  defaultBackend: {service: {name: web, port: {number: 80}}}\n"},
		obj: "ingress default/a", at: "a.yaml:5"},
	{code: "BackendMissing", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "backend: {service: {name: web, port: {number: 80}}}", "backend: {}", 1)},
		obj: "ingress default/web", at: "m.yaml:24"},
	{code: "ResourceBackendUnsupported", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "backend: {service: {name: web, port: {number: 80}}}", "backend: {resource: {apiGroup: k8s.example.com, kind: Bucket, name: b}}", 1)},
		obj: "ingress default/web", at: "m.yaml:24"},
	{code: "ServiceNotFound", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "name: web, port", "name: wbe, port", 1)}, obj: "ingress default/web", at: "m.yaml:24"},
	{code: "ServicePortNotFound", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(ing("web", "a.example.com", ""), "number: 80", "number: 8080", 1)}, obj: "ingress default/web", at: "m.yaml:24"},
	// Endpoints are judged once the input has any (here another Service's).
	{code: "NoReadyEndpoints", files: map[string]string{"m.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n---\n" + ing("web", "a.example.com", "") +
		"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: other-1, labels: {kubernetes.io/service-name: other}}\naddressType: IPv4\nendpoints: [{addresses: [10.0.0.2]}]\n"},
		obj: "ingress default/web", at: "m.yaml:17"},
	{code: "ExternalNameEmpty", files: map[string]string{"m.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: ExternalName, ports: [{port: 80}]}\n---\n" + ing("web", "a.example.com", "")},
		obj: "service default/web", at: "m.yaml:4"},

	// internal/translate: TLS.
	{code: "TLSEntrySplit", files: map[string]string{"m.yaml": svc + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n  - secretName: s\n")}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "TLSSecretNameMissing", files: map[string]string{"m.yaml": svc + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n")}, obj: "ingress default/web", at: "m.yaml:19"},
	{code: "TLSHostsMissing", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("s", "CERT(a.example.com)", "KEY(a.example.com)") + "---\n" + ing("web", "a.example.com", "  tls:\n  - secretName: s\n")},
		obj: "ingress default/web", at: "m.yaml:27"},
	{code: "TLSEntryEmpty", files: map[string]string{"m.yaml": svc + "---\n" + ing("web", "a.example.com", "  tls:\n  - {}\n")}, obj: "ingress default/web", at: "m.yaml:19"},
	{code: "TLSHostNotInRules", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("s", "CERT(a.example.com,b.example.com)", "KEY(a.example.com,b.example.com)") + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com, b.example.com]\n    secretName: s\n")},
		obj: "ingress default/web", at: "m.yaml:27"},
	{code: "TLSNoCertificateForHost", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("s", "CERT(a.example.com)", "KEY(a.example.com)") + "---\n" + ing("web", "b.example.com", "  tls:\n  - secretName: s\n")},
		obj: "ingress default/web", at: "m.yaml:26"},
	{code: "TLSSecretNotFound", files: map[string]string{"m.yaml": svc + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: router-tls\n")}, obj: "ingress default/web", at: "m.yaml:20"},
	{code: "TLSSecretCrossNamespace", files: map[string]string{"m.yaml": svc + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: application/app-router-tls\n")}, obj: "ingress default/web", at: "m.yaml:20"},
	{code: "TLSSecretInvalid", files: map[string]string{"m.yaml": svc + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/tls\ndata: {tls.crt: CERT(a.example.com)}\n---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: s\n")},
		obj: "ingress default/web", at: "m.yaml:26"},
	{code: "TLSSecretNotTLSType", files: map[string]string{"m.yaml": svc + "---\n" + strings.Replace(tlsSecret("s", "CERT(a.example.com)", "KEY(a.example.com)"), "kubernetes.io/tls", "Opaque", 1) + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: s\n")},
		obj: "secret default/s", at: "m.yaml:16"},
	{code: "TLSCertificateHostMismatch", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("s", "CERT(b.example.com)", "KEY(b.example.com)") + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: s\n")},
		obj: "ingress default/web", at: "m.yaml:27"},
	{code: "TLSCertificateCommonNameOnly", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("s", "CERTCNONLY(a.example.com)", "KEYCNONLY(a.example.com)") + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: s\n")},
		obj: "ingress default/web", at: "m.yaml:27"},
	{code: "TLSCertificateExpired", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("s", "CERT(a.example.com)", "KEY(a.example.com)") + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: s\n")},
		opts: func(o *Options) { o.Now = testNow.AddDate(1, 0, 0) }, obj: "ingress default/web", at: "m.yaml:27"},
	{code: "TLSCertificateExpiringSoon", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("s", "CERT(a.example.com)", "KEY(a.example.com)") + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: s\n")},
		opts: func(o *Options) { o.Now = time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC) }, obj: "ingress default/web", at: "m.yaml:27"},
	{code: "TLSCertificateNotYetValid", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("s", "CERT(a.example.com)", "KEY(a.example.com)") + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: s\n")},
		opts: func(o *Options) { o.Now = testNow.AddDate(-1, 0, 0) }, obj: "ingress default/web", at: "m.yaml:27"},
	{code: "TLSKeyMismatch", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("s", "CERT(a.example.com)", "KEY(other)") + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: s\n")},
		obj: "ingress default/web", at: "m.yaml:28"},
	{code: "TLSCertificateChainOrder", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("s", "CHAINREVERSED(a.example.com)", "KEY(a.example.com)") + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: s\n")},
		obj: "ingress default/web", at: "m.yaml:28"},
	{code: "TLSCertificateWeakKey", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("s", "CERTRSA1024(a.example.com)", "KEYRSA1024(a.example.com)") + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: s\n")},
		obj: "secret default/s", at: "m.yaml:18"},
	{code: "TLSCertificateWeakSignature", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("s", "CERTSHA1(a.example.com)", "KEYSHA1(a.example.com)") + "---\n" + ing("web", "a.example.com", "  tls:\n  - hosts: [a.example.com]\n    secretName: s\n")},
		obj: "secret default/s", at: "m.yaml:18"},
	{code: "DefaultBackendInvalid", files: map[string]string{"m.yaml": svc}, opts: func(o *Options) { o.DefaultBackendService = "infra/missing" }, obj: "service infra/missing"},
	// Endpoints are judged once the input has any (svc's).
	{code: "DefaultBackendNoEndpoints", files: map[string]string{"m.yaml": svc + "---\napiVersion: v1\nkind: Service\nmetadata: {name: errors, namespace: infra}\nspec: {ports: [{port: 80}]}\n"},
		opts: func(o *Options) { o.DefaultBackendService = "infra/errors" }, obj: "service infra/errors", at: "m.yaml:16"},
	{code: "DefaultCertificateInvalid", files: map[string]string{"m.yaml": svc}, opts: func(o *Options) { o.DefaultSSLCertificate = "infra/missing" }, obj: "secret infra/missing"},

	// Annotation families, checked through lint so that their lines are too.
	{code: "FastCGIWithoutFCGIBackend", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `fastcgi-index: "index.php"`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "CanaryNotEnabled", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `canary-weight: "10"`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "CanaryWithoutMain", files: map[string]string{"m.yaml": svc + "---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: c\n  annotations: {nginx.ingress.kubernetes.io/canary: \"true\"}\nspec:\n  defaultBackend: {service: {name: web, port: {number: 80}}}\n"},
		obj: "ingress default/c", at: "m.yaml:18"},
	{code: "CanarySameBackend", files: map[string]string{"m.yaml": svc, "a.yaml": ing("main", "a.example.com", ""), "b.yaml": annotate(ing("canary", "a.example.com", ""), `canary: "true"`, `canary-weight: "10"`)},
		obj: "ingress default/canary", at: "b.yaml:15"},
	{code: "CanaryConflict", files: map[string]string{"m.yaml": svc, "a.yaml": ing("main", "a.example.com", ""),
		"b.yaml": strings.Replace(annotate(ing("canary1", "a.example.com", ""), `canary: "true"`), "name: web, port", "name: web2, port", 1),
		"c.yaml": strings.Replace(annotate(ing("canary2", "a.example.com", ""), `canary: "true"`), "name: web, port", "name: web2, port", 1),
		"d.yaml": strings.ReplaceAll(svc, "web", "web2")},
		obj: "ingress default/canary1", at: "b.yaml:12"},
	{code: "CanaryHeaderMissing", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `canary: "true"`, `canary-by-header-value: "on"`)}, obj: "ingress default/web", at: "m.yaml:19"},
	{code: "CanaryPatternIgnored", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `canary: "true"`, `canary-by-header: x-canary`, `canary-by-header-value: "on"`, `canary-by-header-pattern: "o.*"`)},
		obj: "ingress default/web", at: "m.yaml:21"},
	{code: "CanaryWeightTotalBelow100", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `canary: "true"`, `canary-weight: "5"`, `canary-weight-total: "10"`)}, obj: "ingress default/web", at: "m.yaml:20"},
	{code: "CanaryAnnotationIgnored", files: map[string]string{"m.yaml": svc, "a.yaml": ing("main", "a.example.com", ""),
		"b.yaml": strings.Replace(annotate(ing("canary", "a.example.com", ""), `canary: "true"`, `rewrite-target: /x`), "name: web, port", "name: web2, port", 1),
		"d.yaml": strings.ReplaceAll(svc, "web", "web2")},
		obj: "ingress default/canary", at: "b.yaml:5"},
	{code: "AffinityNotEnabled", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `session-cookie-name: route`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "ModSecurityDiffers", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `enable-modsecurity: "true"`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "CORSNotEnabled", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `cors-allow-origin: https://a.example`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "AuthTypeMissing", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `auth-realm: Staff`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "AuthTLSSecretMissing", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `auth-tls-verify-client: "on"`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "RedirectMissing", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `permanent-redirect-code: "308"`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "RewriteTargetMissing", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `x-forwarded-prefix: /app`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "LimitRateMissing", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `limit-rate-after: "100"`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "HashSubsetNotEnabled", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `upstream-hash-by: $request_uri`, `upstream-hash-by-subset-size: "2"`)}, obj: "ingress default/web", at: "m.yaml:19"},
	{code: "ProxyRedirectFromMissing", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `proxy-redirect-to: /`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "ProxyRedirectToMissing", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `proxy-redirect-from: http://a/`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "OpentelemetryOnlyAnnotated", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `enable-opentelemetry: "true"`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "OpentelemetryNotEnabled", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `opentelemetry-trust-incoming-span: "false"`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "AuthURLMissing", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `auth-signin: https://login.example/`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "SameSiteNoneWithoutSecure", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `affinity: cookie`, `session-cookie-samesite: None`)}, obj: "ingress default/web", at: "m.yaml:19"},
	{code: "HashByWithAffinity", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `affinity: cookie`, `upstream-hash-by: $remote_addr`)}, obj: "ingress default/web", at: "m.yaml:19"},
	{code: "HashSubsetWithoutKey", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `upstream-hash-by-subset: "true"`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "LimitWithoutRate", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `limit-burst-multiplier: "3"`)}, obj: "ingress default/web", at: "m.yaml:17"},
	{code: "ProxyBufferSizeCapped", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `proxy-buffer-size: 2m`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "BodyBufferCapped", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `client-body-buffer-size: 10m`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "ServiceUpstreamHeadless", files: map[string]string{"m.yaml": strings.Replace(svc, "spec: {ports", "spec: {clusterIP: None, ports", 1) + "---\n" + annotate(ing("web", "a.example.com", ""), `service-upstream: "true"`)},
		obj: "ingress default/web", at: "m.yaml:18"},
	{code: "SSLPassthroughDisabled", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `ssl-passthrough: "true"`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "SSLPassthroughNoBackend", files: map[string]string{"m.yaml": svc + "---\n" + annotate(strings.Replace(ing("web", "a.example.com", ""), "path: /", "path: /api", 1), `ssl-passthrough: "true"`)},
		opts: func(o *Options) { o.EnableSSLPassthrough = true }, obj: "ingress default/web", at: "m.yaml:20"},
	{code: "ProxySSLWithoutTLSBackend", files: map[string]string{"m.yaml": svc + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: backend-ca}\ndata: {ca.crt: eA==}\n---\n" + annotate(ing("web", "a.example.com", ""), `proxy-ssl-secret: backend-ca`, `proxy-ssl-verify: "on"`)}, obj: "ingress default/web", at: "m.yaml:22"},
	{code: "ProxySSLVerifyWithoutCA", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("backend-cert", "CERT(backend.example.com)", "KEY(backend.example.com)") + "---\n" + annotate(ing("web", "a.example.com", ""), `backend-protocol: HTTPS`, `proxy-ssl-secret: backend-cert`, `proxy-ssl-verify: "on"`)}, obj: "ingress default/web", at: "m.yaml:27"},
	{code: "ProxySSLSecretMissing", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `backend-protocol: HTTPS`, `proxy-ssl-verify: "on"`)}, obj: "ingress default/web", at: "m.yaml:19"},
	{code: "AuthTLSWithoutHost", files: map[string]string{"m.yaml": svc + "---\n" + tlsSecret("ca", "CERT(a.example.com)", "KEY(a.example.com)") + "---\n" +
		annotate(strings.Replace(ing("web", "a.example.com", ""), "  - host: a.example.com\n    http:", "  - http:", 1), `auth-tls-secret: default/ca`)}, obj: "ingress default/web", at: "m.yaml:29"},

	{code: "AuthTLSSecretNotFound", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `auth-tls-secret: default/client-ca`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "AuthTLSSecretCrossNamespace", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `auth-tls-secret: other/client-ca`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "AuthTLSSecretInvalid", files: map[string]string{"m.yaml": svc + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: client-ca}\ndata: {other: eA==}\n---\n" + annotate(ing("web", "a.example.com", ""), `auth-tls-secret: default/client-ca`)},
		obj: "ingress default/web", at: "m.yaml:23"},
	{code: "ProxySSLSecretNotFound", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `backend-protocol: HTTPS`, `proxy-ssl-secret: default/backend-ca`)}, obj: "ingress default/web", at: "m.yaml:19"},
	{code: "ProxySSLSecretCrossNamespace", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `backend-protocol: HTTPS`, `proxy-ssl-secret: other/backend-ca`)}, obj: "ingress default/web", at: "m.yaml:19"},
	{code: "ProxySSLSecretInvalid", files: map[string]string{"m.yaml": svc + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: backend-ca}\ndata: {other: eA==}\n---\n" + annotate(ing("web", "a.example.com", ""), `backend-protocol: HTTPS`, `proxy-ssl-secret: default/backend-ca`)},
		obj: "ingress default/web", at: "m.yaml:24"},
	{code: "AuthURLSelf", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `auth-url: http://127.0.0.1:8080/auth`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "AnnotationValueDiffers", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `custom-http-errors: "302,503"`)}, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "AnnotationNoEffect", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `disable-proxy-intercept-errors: "true"`), "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: ingress}\ndata:\n  custom-http-errors: \"503\"\n"},
		opts: func(o *Options) { o.ConfigMap = "ingress/moat" }, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "ConfigMapValueDiffers", files: map[string]string{"m.yaml": svc, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: ingress}\ndata:\n  max-worker-connections: \"4096\"\n"},
		opts: func(o *Options) { o.ConfigMap = "ingress/moat" }, obj: "configmap ingress/moat", at: "cm.yaml:5"},
	// The controller ConfigMap.
	{code: "ConfigMapInvalid", files: map[string]string{"m.yaml": svc}, opts: func(o *Options) { o.ConfigMap = "moat" }, obj: "--configmap"},
	{code: "ConfigMapNotFound", files: map[string]string{"m.yaml": svc}, opts: func(o *Options) { o.ConfigMap = "ingress/moat" }, obj: "configmap ingress/moat"},
	{code: "ServerHeaderKept", files: map[string]string{"m.yaml": svc, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: ingress}\ndata:\n  server-tokens: \"false\"\n"},
		opts: func(o *Options) { o.ConfigMap = "ingress/moat" }, obj: "configmap ingress/moat", at: "cm.yaml:5"},
	{code: "ConfigMapKeyUnknown", files: map[string]string{"m.yaml": svc, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: ingress}\ndata:\n  proxy-body-sise: 8m\n"},
		opts: func(o *Options) { o.ConfigMap = "ingress/moat" }, obj: "configmap ingress/moat", at: "cm.yaml:5"},
	{code: "ConfigMapKeyRefused", files: map[string]string{"m.yaml": svc, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: ingress}\ndata:\n  worker-processes: \"2\"\n"},
		opts: func(o *Options) { o.ConfigMap = "ingress/moat" }, obj: "configmap ingress/moat", at: "cm.yaml:5"},
	{code: "GlobalHeadersNotFound", files: map[string]string{"m.yaml": svc, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: ingress}\ndata:\n  add-headers: ingress/missing\n"},
		opts: func(o *Options) { o.ConfigMap = "ingress/moat" }, obj: "configmap ingress/moat", at: "cm.yaml:5"},
	{code: "GlobalHeaderInvalid", files: map[string]string{"m.yaml": svc, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: ingress}\ndata:\n  proxy-set-headers: ingress/up\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: up, namespace: ingress}\ndata:\n  X-Time: $msec\n"},
		opts: func(o *Options) { o.ConfigMap = "ingress/moat" }, obj: "configmap ingress/up", at: "cm.yaml:11"},
	{code: "AnnotationValueBlocked", files: map[string]string{"m.yaml": svc + "---\n" + annotate(ing("web", "a.example.com", ""), `rewrite-target: /load_module/x`), "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: ingress}\ndata:\n  annotation-value-word-blocklist: \"load_module,lua_package\"\n"},
		opts: func(o *Options) { o.ConfigMap = "ingress/moat" }, obj: "ingress default/web", at: "m.yaml:18"},
	{code: "ConfigMapInvalidValue", files: map[string]string{"m.yaml": svc, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: ingress}\ndata:\n  ssl-redirect: \"maybe\"\n"},
		opts: func(o *Options) { o.ConfigMap = "ingress/moat" }, obj: "configmap ingress/moat", at: "cm.yaml:5"},
	{code: "ConfigMapValueCapped", files: map[string]string{"m.yaml": svc, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: ingress}\ndata:\n  client-body-buffer-size: 10m\n"},
		opts: func(o *Options) { o.ConfigMap = "ingress/moat" }, obj: "configmap ingress/moat", at: "cm.yaml:5"},
	{code: "OpentelemetryNoCollector", files: map[string]string{"m.yaml": svc, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: ingress}\ndata:\n  enable-opentelemetry: \"true\"\n"},
		opts: func(o *Options) { o.ConfigMap = "ingress/moat" }, obj: "configmap ingress/moat", at: "cm.yaml:4"},
}

// coveredElsewhere lists codes whose cases live with the code that emits
// them (annotation families, the controller ConfigMap), because their
// manifests need that family's own setup; every other documented code
// must have a case above.
var coveredElsewhere = map[string]string{
	// Gateway API reasons (diagnostics and status conditions).
	"Accepted":                     "internal/translate golden gateway-api (and gateway-api.status)",
	"BackendNotFound":              "internal/translate golden gateway-api (and gateway-api.status)",
	"HostServedByIngress":          "internal/translate golden gateway-api (and gateway-api.status)",
	"HostnameConflict":             "internal/translate golden gateway-api (and gateway-api.status)",
	"IncompatibleFilters":          "internal/translate golden gateway-api (and gateway-api.status)",
	"Invalid":                      "internal/translate golden gateway-api (and gateway-api.status)",
	"InvalidCertificateRef":        "internal/translate golden gateway-api (and gateway-api.status)",
	"InvalidKind":                  "internal/translate golden gateway-api (and gateway-api.status)",
	"InvalidParameters":            "internal/translate golden gateway-api (and gateway-api.status)",
	"InvalidRouteKinds":            "internal/translate golden gateway-api (and gateway-api.status)",
	"ListenersNotValid":            "internal/translate golden gateway-api (and gateway-api.status)",
	"NoConflicts":                  "internal/translate golden gateway-api (and gateway-api.status)",
	"NoMatchingListenerHostname":   "internal/translate golden gateway-api (and gateway-api.status)",
	"NoMatchingParent":             "internal/translate golden gateway-api (and gateway-api.status)",
	"NotAllowedByListeners":        "internal/translate golden gateway-api (and gateway-api.status)",
	"Programmed":                   "internal/translate golden gateway-api (and gateway-api.status)",
	"ProtocolConflict":             "internal/translate golden gateway-api (and gateway-api.status)",
	"RefNotPermitted":              "internal/translate golden gateway-api (and gateway-api.status)",
	"ResolvedRefs":                 "internal/translate golden gateway-api (and gateway-api.status)",
	"UnsupportedAddress":           "internal/translate golden gateway-api (and gateway-api.status)",
	"UnsupportedProtocol":          "internal/translate golden gateway-api (and gateway-api.status)",
	"UnsupportedValue":             "internal/translate golden gateway-api (and gateway-api.status)",
	"ClientCertificateConflict":    "internal/translate/gateway TestBackendClientCertificateProblems",
	"InvalidClientCertificateRef":  "internal/translate/gateway TestBackendClientCertificateProblems, test/e2e TestGatewayAPIBackendClientCertificate",
	"UnsupportedTarget":            "internal/translate/gateway TestBackendClientCertificateProblems",
	"Conflicted":                   "internal/translate/gateway TestBackendTLSPolicies",
	"InvalidCACertificateRef":      "test/e2e and test/cluster gateway_backendtls_test.go (a ConfigMap CA that is missing)",
	"NoValidCACertificate":         "test/e2e and test/cluster gateway_backendtls_test.go",
	"Pending":                      "internal/status gateway_bind_test.go, test/cluster gateway_addresses_test.go (a port that cannot be bound)",
	"IngressClassNotMatched":       "internal/translate golden class-matching (lint reports IngressNotServed instead)",
	"IngressClassMissing":          "internal/translate golden class-matching (lint reports IngressNotServed instead)",
	"AnnotationRefused":            "the set of refused keys changes as families land; internal/annotations tests it",
	"AnnotationRiskTooHigh":        "internal/annotations TestGate (the gate needs the controller ConfigMap wiring)",
	"AnnotationSnippetsDisabled":   "internal/annotations TestGate, test/e2e TestWAFSnippetDisabled",
	"AnnotationMissing":            "internal/annotations (a family's required companion key)",
	"AuthTLSConflict":              "internal/translate golden tls-annotations (needs a client CA Secret per Ingress)",
	"SSLPassthroughIgnoresAuthTLS": "internal/translate golden tls-annotations",
	"AuthTLSPlainHTTP":             "internal/translate golden tls-annotations",
	"SSLCiphersConflict":           "internal/translate golden tls-annotations",
	"AnnotationCrossNamespace":     "internal/translate golden http-annotations (needs the controller ConfigMap)",
	"AuthSecretInvalid":            "internal/translate golden http-annotations",
	"AuthSecretNotFound":           "internal/translate golden http-annotations",
	"CustomHeaderNotAllowed":       "internal/translate golden http-annotations (needs global-allowed-response-headers)",
	"FromToWWWConflict":            "internal/translate golden http-annotations",
	"ServerAliasConflict":          "internal/translate golden http-annotations",
	"SnippetRefused":               "internal/translate golden http-annotations (needs allow-snippet-annotations)",
	"LastGoodManifestKept":         "internal/source/file TestBadFileKeepsLastGood (a watched file that was good, then broke)",
	"PlainPrivateKey":              "internal/lint TestPlainPrivateKey (data and stringData, a password-protected key, an encrypted file)",
	"SOPSKeyMissing":               "internal/lint TestPlainPrivateKey; test/secrets TestServeEncryptedSecrets (serve, a key file removed)",
	"SOPSKeyMismatch":              "test/secrets (needs files made by sops's library and age keys)",
	"SOPSMACMismatch":              "test/secrets (needs files made by sops's library)",
	"SOPSInvalid":                  "internal/secrets tests",
	"SealedSecretKeyMissing":       "test/secrets (needs SealedSecrets made by the sealed-secrets library)",
	"SealedSecretKeyMismatch":      "test/secrets",
	"SealedSecretInvalid":          "internal/secrets tests",
	"SealedSecretTemplateIgnored":  "internal/secrets tests",
	"ManifestPathGone":             "internal/source/file TestWatchDirectoryRecreated, test/e2e TestManifestDirectoryDeleted (a watched path that disappears)",
	"ManifestTooLarge":             "internal/source/file TestManifestSizeCap (moat serve's file source)",
	"StreamConfigMapInvalid":       "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"StreamConfigMapNotFound":      "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"StreamPortInvalid":            "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"StreamPortReserved":           "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"StreamPortDuplicate":          "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"StreamEntryInvalid":           "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"StreamEntryFieldIgnored":      "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"StreamProxyProtocolIgnored":   "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"StreamServiceNotFound":        "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"StreamServicePortNotFound":    "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"StreamServicePortProtocol":    "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"StreamExternalNameInvalid":    "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"StreamNoReadyEndpoints":       "internal/translate golden streams*.txt (needs --tcp/udp-services-configmap and a Service)",
	"ModSecuritySnippetRefused":    "test/e2e TestWAF and TestWAFConfigMap, internal/waf TestVet (needs allow-snippet-annotations or the controller ConfigMap)",
}

// TestCodeCases runs every case through lint and checks that the code is
// reported on the right object, file and line.
func TestCodeCases(t *testing.T) {
	certs := newCerts(t)
	for _, tc := range codeCases {
		t.Run(tc.code, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				p := filepath.Join(dir, name)
				if target, ok := strings.CutPrefix(content, "SYMLINK:"); ok {
					if err := os.Symlink(target, p); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.WriteFile(p, []byte(certs.expand(t, content)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			paths := []string{dir}
			if tc.paths != nil {
				paths = nil
				for _, p := range tc.paths {
					paths = append(paths, filepath.Join(dir, p))
				}
			}
			opts := Options{WatchWithoutClass: true, Now: testNow}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			r, err := Run(paths, nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			wantAt := ""
			if tc.at != "" {
				wantAt = filepath.Clean(filepath.Join(dir, tc.at))
				if !strings.Contains(tc.at, ":") {
					wantAt = filepath.Join(dir, tc.at)
				}
			}
			var got []string
			for _, d := range r.Diagnostics {
				got = append(got, fmt.Sprintf("%s %s [%s] @%s %s: %s", d.Severity, d.Reason, d.Object, strings.TrimPrefix(d.Object.Origin.String(), dir+"/"), d.Field, d.Message))
				if d.Reason == tc.code && d.Object.String() == tc.obj && d.Object.Origin.String() == wantAt {
					return
				}
			}
			t.Errorf("want %s on %q at %s; got:\n  %s", tc.code, tc.obj, tc.at, strings.Join(got, "\n  "))
		})
	}
}

// TestEveryCodeHasACase keeps the table complete as codes are added.
func TestEveryCodeHasACase(t *testing.T) {
	have := map[string]bool{}
	for _, c := range codeCases {
		have[c.code] = true
	}
	var missing []string
	for c := range documentedCodes(t) {
		if !have[c] && coveredElsewhere[c] == "" {
			missing = append(missing, c)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("documented codes without a case in codeCases (or an entry in coveredElsewhere): %s", strings.Join(missing, ", "))
	}
}

// certs issues the certificates the cases name, one per name list and
// variant, from a CA valid through 2030.
type certs struct {
	ca    *chainLink
	inter *chainLink
	pairs map[string][2]string
}

type chainLink struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newCerts(t *testing.T) *certs {
	root := makeCert(t, nil, "lint test root", nil, nil, 0, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	inter := makeCert(t, root, "lint test intermediate", nil, nil, 0, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	return &certs{ca: root, inter: inter, pairs: map[string][2]string{}}
}

func makeCert(t *testing.T, parent *chainLink, cn string, dns []string, key crypto.Signer, alg x509.SignatureAlgorithm, nb, na time.Time) *chainLink {
	t.Helper()
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
		NotBefore: nb, NotAfter: na, SignatureAlgorithm: alg}
	if dns == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &chainLink{c, key}
}

var certRef = regexp.MustCompile(`(CERT|KEY|CHAINREVERSED)(RSA1024|SHA1|CNONLY)?\(([^)]*)\)`)

func (g *certs) expand(t *testing.T, s string) string {
	return certRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := certRef.FindStringSubmatch(m)
		p := g.pair(t, sub[3], sub[2])
		if sub[1] == "CHAINREVERSED" {
			return g.pairs[sub[3]+"/REVERSED"][0]
		}
		if sub[1] == "KEY" {
			return p[1]
		}
		return p[0]
	})
}

// pair returns base64 PEM of [certificate chain, key]. Plain certificates
// are issued by the intermediate and carry it, so that chain order is
// checked on every case; CHAINREVERSED only differs in the order.
func (g *certs) pair(t *testing.T, names, variant string) [2]string {
	id := names + "/" + variant
	if p, ok := g.pairs[id]; ok {
		return p
	}
	var key crypto.Signer
	var alg x509.SignatureAlgorithm
	parent := g.inter
	dns := strings.Split(names, ",")
	switch variant {
	case "CNONLY":
		dns = []string{} // the name only as Common Name; nil would make a CA
	case "RSA1024":
		k, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	case "SHA1":
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		parent = makeCert(t, nil, "sha1 root", nil, rk, 0, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		alg = x509.SHA1WithRSA
	}
	leaf := makeCert(t, parent, strings.Split(names, ",")[0], dns, key, alg,
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	chain := []*x509.Certificate{leaf.cert}
	if parent == g.inter {
		chain = append(chain, g.inter.cert)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(leaf.key)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	p := [2]string{enc(certkit.EncodeCertificates(chain)), enc(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))}
	g.pairs[id] = p
	if variant == "" {
		rev := [2]string{enc(certkit.EncodeCertificates([]*x509.Certificate{g.inter.cert, leaf.cert})), p[1]}
		g.pairs[names+"/REVERSED"] = rev
	}
	return p
}
