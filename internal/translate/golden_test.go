package translate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/routecfg/dump"
	"github.com/moat-ingress/moat/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files' expected sections")

// Golden files in testdata/*.txt:
//
//	# comment lines
//	=== options            (optional; "key: value" lines)
//	=== input              (Kubernetes YAML; CERT(names) / KEY(names) expand
//	                        to base64 PEM of a generated certificate; CERTEXP
//	                        is one that expired in 2021)
//	=== routes             (routecfg.Dump)
//	=== diagnostics        (one per line)
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files found: %v", err)
	}
	gen := newCertGen(t)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sec := splitSections(string(raw))
			opts := parseOptions(t, sec["options"])
			input := gen.expand(t, sec["input"])
			objs, diags := k8s.Decode([]byte(input), "input.yaml")
			cfg, diags := Translate(store.FromObjects(objs, diags), opts)
			gotRoutes := dump.Config(cfg)
			gotDiags := renderDiags(diags)
			if *update {
				var b strings.Builder
				b.WriteString(sec["header"])
				if s, ok := sec["options"]; ok {
					b.WriteString("=== options\n" + s)
				}
				b.WriteString("=== input\n" + sec["input"])
				b.WriteString("=== routes\n" + gotRoutes)
				b.WriteString("=== diagnostics\n" + gotDiags)
				if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if gotRoutes != sec["routes"] {
				t.Errorf("routes differ (run with -update to accept)\n--- got\n%s--- want\n%s", gotRoutes, sec["routes"])
			}
			if gotDiags != sec["diagnostics"] {
				t.Errorf("diagnostics differ (run with -update to accept)\n--- got\n%s--- want\n%s", gotDiags, sec["diagnostics"])
			}
		})
	}
}

func splitSections(s string) map[string]string {
	out := map[string]string{}
	cur := "header"
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "=== "); ok {
			out[cur] = b.String()
			b.Reset()
			cur = strings.TrimSpace(name)
			continue
		}
		b.WriteString(line)
	}
	out[cur] = b.String()
	return out
}

func parseOptions(t *testing.T, s string) Options {
	opts := Options{IngressClass: "moat", WatchWithoutClass: true, Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "ingress-class":
			opts.IngressClass = v
		case "watch-without-class":
			opts.WatchWithoutClass = v == "true"
		case "default-ssl-certificate":
			opts.DefaultSSLCertificate = v
		case "controller-class":
			opts.ControllerClass = v
		case "configmap":
			opts.ConfigMap = v
		case "default-backend-service":
			opts.DefaultBackendService = v
		case "enable-ssl-passthrough":
			opts.EnableSSLPassthrough = v == "true"
		case "tcp-services":
			opts.TCPServices = v
		case "udp-services":
			opts.UDPServices = v
		case "http-addr":
			opts.Listeners.HTTP = v
		case "admin-addr":
			opts.Listeners.Admin = v
		default:
			t.Fatalf("unknown option %q", k)
		}
	}
	return opts
}

func renderDiags(ds []diag.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s %s %s", d.Severity, d.Reason, d.Object.String())
		if o := d.Object.Origin.String(); o != "" {
			fmt.Fprintf(&b, " @%s", o)
		}
		if d.Field != "" {
			fmt.Fprintf(&b, " %s", d.Field)
		}
		fmt.Fprintf(&b, ": %s\n", d.Message)
		if d.Hint != "" {
			fmt.Fprintf(&b, "  hint: %s\n", strings.ReplaceAll(d.Hint, "\n", "\\n"))
		}
	}
	return b.String()
}

// certGen makes test certificates on demand, one per distinct name list.
type certGen struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	pairs map[string][2]string
}

func newCertGen(t *testing.T) *certGen {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return &certGen{ca: ca, caKey: key, pairs: map[string][2]string{}}
}

var certRef = regexp.MustCompile(`(CERT|CERTEXP|KEY|KEYEXP)\(([^)]*)\)`)

func (g *certGen) expand(t *testing.T, s string) string {
	return certRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := certRef.FindStringSubmatch(m)
		expired := strings.HasSuffix(sub[1], "EXP")
		p := g.pair(t, sub[2], expired)
		if strings.HasPrefix(sub[1], "CERT") {
			return p[0]
		}
		return p[1]
	})
}

func (g *certGen) pair(t *testing.T, names string, expired bool) [2]string {
	id := fmt.Sprint(names, expired)
	if p, ok := g.pairs[id]; ok {
		return p
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nb, na := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if expired {
		nb, na = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	dns := strings.Split(names, ",")
	cn := dns[0]
	if c, ok := strings.CutPrefix(names, "CN="); ok {
		// CERT(CN=name): the name only as Common Name, no subjectAltName.
		cn, dns = c, nil
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(len(g.pairs) + 2)), Subject: pkix.Name{CommonName: cn},
		DNSNames: dns, NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, g.ca, &key.PublicKey, g.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	crt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	k := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
	p := [2]string{base64.StdEncoding.EncodeToString(crt), base64.StdEncoding.EncodeToString(k)}
	g.pairs[id] = p
	return p
}
