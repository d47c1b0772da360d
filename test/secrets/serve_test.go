package secrets_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/echo"
	"github.com/moat-ingress/moat/internal/testutil"
)

// serving is one in-process moat in file mode.
type serving struct {
	addrs app.Addrs
	logs  *testutil.SyncBuffer
}

func serve(t *testing.T, c app.ServeConfig) *serving {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	ready := make(chan app.Addrs, 1)
	c.HTTPAddr, c.HTTPSAddr, c.AdminAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	c.IngressClass, c.WatchIngressWithoutClass, c.HTTPSRedirectPort = "moat", true, 443
	c.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c.AccessLog = logs
	c.Ready = func(a app.Addrs) { ready <- a }
	c.HoldOff, c.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, c) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("moat exited with: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("moat did not stop within 10s")
		}
	})
	select {
	case a := <-ready:
		return &serving{addrs: a, logs: logs}
	case err := <-done:
		t.Fatalf("moat failed to start: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("moat not ready within 20s\n%s", logs.String())
	}
	return nil
}

// handshake connects to moat's HTTPS listener with SNI host, verifies the
// chain against roots, sends one request and returns the leaf's serial.
func (s *serving) handshake(host string, roots *x509.CertPool) (*big.Int, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.addrs.HTTPS)
		},
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: host},
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := c.Get("https://" + host + "/")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"name": "web"`) {
		return nil, fmt.Errorf("GET https://%s/: %d %s", host, resp.StatusCode, body)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber, nil
}

func (s *serving) admin(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + s.addrs.Admin + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

const manifests = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  ports: [{name: http, port: 80, targetPort: %[1]s}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: %[1]s}]
endpoints:
- addresses: ["127.0.0.1"]
  conditions: {ready: true}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  tls:
  - {hosts: [sops.test], secretName: sops-tls}
  - {hosts: [sealed.test], secretName: sealed-tls}
  rules:
  - host: sops.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
  - host: sealed.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`

// TestServeEncryptedSecrets is the acceptance test of encrypted manifests
// in file mode: a SOPS file and a SealedSecret, each made by its tool's
// own library, serve their certificates over TLS; a wrong key, a tampered
// file and a missing key file each give a diagnostic naming the file while
// the last good certificate keeps serving; and no plaintext key appears in
// the logs, the diagnostics, any admin endpoint or on disk.
func TestServeEncryptedSecrets(t *testing.T) {
	dir := t.TempDir()
	mdir := filepath.Join(dir, "manifests")
	kdir := filepath.Join(dir, "keys")
	for _, d := range []string{mdir, kdir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ca := testutil.NewCA(t, "secrets test CA")
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	sopsCrt, sopsKey, sopsSerial := ca.Issue(t, "sops.test")
	sealedCrt, sealedKey, sealedSerial := ca.Issue(t, "sealed.test")

	id, ageFile := ageKey(t, kdir, "age.txt")
	ageKey(t, kdir, "wrong-age.txt")
	sk, sealFile := sealingKey(t, kdir, "sealing.pem")
	_, wrongSealFile := sealingKey(t, kdir, "wrong-sealing.pem")
	goodAge, _ := os.ReadFile(ageFile)
	goodSeal, _ := os.ReadFile(sealFile)
	wrongAge, _ := os.ReadFile(filepath.Join(kdir, "wrong-age.txt"))
	wrongSeal, _ := os.ReadFile(wrongSealFile)

	backend := startEcho(t)
	_, port, _ := net.SplitHostPort(backend)
	write := func(name string, data []byte) {
		t.Helper()
		// Write then rename, as editors and git do.
		tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".tmp")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, name); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(mdir, "app.yaml"), fmt.Appendf(nil, manifests, port))
	sopsFile := filepath.Join(mdir, "sops-tls.yaml")
	sopsData := sopsEncrypt(t, []byte(testutil.TLSSecretYAML("shop", "sops-tls", sopsCrt, sopsKey)), id.Recipient().String(), `^(data|stringData)$`)
	write(sopsFile, sopsData)
	sealedFile := filepath.Join(mdir, "sealed-tls.yaml")
	sealedData := libSeal(t, &sk.PublicKey, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sealed-tls", Namespace: "shop"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": sealedCrt, "tls.key": sealedKey},
	})
	write(sealedFile, sealedData)

	m := serve(t, app.ServeConfig{Manifests: []string{mdir}, SOPSAgeKeyFile: ageFile, SealedSecretsKey: sealFile})

	serves := func(host string, serial *big.Int) func() error {
		return func() error {
			got, err := m.handshake(host, roots)
			if err != nil {
				return err
			}
			if got.Cmp(serial) != 0 {
				return fmt.Errorf("%s: served certificate %v, want %v", host, got, serial)
			}
			return nil
		}
	}
	bothServe := func(what string) {
		t.Helper()
		testutil.Eventually(t, 5*time.Second, what+": sops.test serves its certificate", serves("sops.test", sopsSerial))
		testutil.Eventually(t, 5*time.Second, what+": sealed.test serves its certificate", serves("sealed.test", sealedSerial))
	}
	bothServe("start")
	if d := m.admin(t, "/debug/diagnostics"); strings.Contains(d, "SOPS") || strings.Contains(d, "SealedSecret") {
		t.Fatalf("diagnostics at start:\n%s", d)
	}

	// diagnosed waits until /debug/diagnostics holds reason for file and
	// says the last good content is kept, then checks both hosts still
	// serve their certificates.
	diagnosed := func(what, reason, file string) {
		t.Helper()
		testutil.Eventually(t, 5*time.Second, what+": diagnostic "+reason, func() error {
			d := m.admin(t, "/debug/diagnostics")
			if !strings.Contains(d, reason) || !strings.Contains(d, file) || !strings.Contains(d, "LastGoodManifestKept") {
				return fmt.Errorf("no %s for %s with LastGoodManifestKept in:\n%s", reason, file, d)
			}
			return nil
		})
		bothServe(what)
	}
	clean := func(what string) {
		t.Helper()
		testutil.Eventually(t, 5*time.Second, what+": diagnostics clear", func() error {
			if d := m.admin(t, "/debug/diagnostics"); strings.Contains(d, "LastGoodManifestKept") {
				return fmt.Errorf("still:\n%s", d)
			}
			return nil
		})
		bothServe(what)
	}

	// Wrong keys: the key files are replaced by others.
	write(ageFile, wrongAge)
	diagnosed("wrong age key", "SOPSKeyMismatch", sopsFile)
	write(sealFile, wrongSeal)
	diagnosed("wrong sealing key", "SealedSecretKeyMismatch", sealedFile)
	write(ageFile, goodAge)
	write(sealFile, goodSeal)
	clean("keys restored")

	// Tampered files: an unencrypted field of the SOPS file (covered by
	// its MAC), a byte of a sealed value.
	write(sopsFile, []byte(strings.Replace(string(sopsData), "name: sops-tls", "name: sops-tls\n    labels: {x: y}", 1)))
	diagnosed("tampered sops file", "SOPSMACMismatch", sopsFile)
	i := strings.Index(string(sealedData), "tls.key: ") + len("tls.key: ") + 40
	tampered := []byte(string(sealedData))
	tampered[i] = map[bool]byte{true: 'B', false: 'A'}[tampered[i] == 'A']
	write(sealedFile, tampered)
	diagnosed("tampered sealed secret", "SealedSecretKeyMismatch", sealedFile)
	write(sopsFile, sopsData)
	write(sealedFile, sealedData)
	clean("files restored")

	// Missing key files.
	if err := os.Remove(ageFile); err != nil {
		t.Fatal(err)
	}
	diagnosed("age key file removed", "SOPSKeyMissing", sopsFile)
	if err := os.Remove(sealFile); err != nil {
		t.Fatal(err)
	}
	diagnosed("sealing key file removed", "SealedSecretKeyMissing", sealedFile)
	write(ageFile, goodAge)
	write(sealFile, goodSeal)
	clean("key files back")

	// Nothing decrypted anywhere a person or a scraper can read.
	secretsText := map[string][]byte{"sops.test key": sopsKey, "sealed.test key": sealedKey}
	var needles []string
	for _, k := range secretsText {
		needles = append(needles, base64.StdEncoding.EncodeToString(k))
		for _, l := range strings.Split(string(k), "\n") {
			if len(l) > 20 && !strings.HasPrefix(l, "-----") {
				needles = append(needles, l)
			}
		}
	}
	material := needles
	needles = append(needles[:len(needles):len(needles)], "PRIVATE KEY", "AGE-SECRET-KEY")
	places := map[string]string{"logs": m.logs.String()}
	for _, p := range []string{"/debug/config", "/debug/diagnostics", "/debug/certs", "/metrics"} {
		places[p] = m.admin(t, p)
	}
	for where, text := range places {
		if len(text) == 0 {
			t.Errorf("%s is empty: the check would pass vacuously", where)
		}
		for _, n := range needles {
			if strings.Contains(text, n) {
				t.Errorf("%s holds key material %q", where, n)
			}
		}
	}
	if !strings.Contains(places["logs"], "SOPSKeyMismatch") || !strings.Contains(places["/debug/certs"], "sops.test") {
		t.Errorf("the places searched do not hold what they should (logs with the diagnostics, /debug/certs with the hosts)")
	}
	// On disk: the manifests directory holds only what the test wrote.
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || filepath.Dir(p) == kdir {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, n := range material {
			if strings.Contains(string(b), n) {
				t.Errorf("%s holds key material", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: echo.Handler("web"), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}
