package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	corev1 "k8s.io/api/core/v1"

	"github.com/moat-ingress/moat/internal/app"
	"github.com/moat-ingress/moat/internal/secrets/sealed"
)

// TestSecretTLSEncryptAndSeal: --encrypt writes a SOPS file that moat
// serve opens with the age key and serves over TLS, and that lint checks
// clean; --seal writes a SealedSecret bound to its name and namespace;
// neither output holds the key in the clear.
func TestSecretTLSEncryptAndSeal(t *testing.T) {
	work := t.TempDir()
	certDir := filepath.Join(work, "certs")
	if out, code := run(t, "", "cert", "new", "--host", "enc.test", "--out", certDir); code != 0 {
		t.Fatalf("cert new: exit %d\n%s", code, out)
	}
	crtFile, keyFile := filepath.Join(certDir, "enc.test.crt"), filepath.Join(certDir, "enc.test.key")
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	plainMarks := []string{base64.StdEncoding.EncodeToString(keyPEM)[:40], strings.Split(string(keyPEM), "\n")[1]}
	leaks := func(what, out string) {
		t.Helper()
		for _, m := range plainMarks {
			if strings.Contains(out, m) {
				t.Errorf("%s holds the key in the clear", what)
			}
		}
	}

	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	ageFile := filepath.Join(work, "age.txt")
	if err := os.WriteFile(ageFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runIO(t, "", "secret", "tls", "enc-tls", "--cert", crtFile, "--key", keyFile, "-n", "default", "--encrypt", "age:"+id.Recipient().String())
	if code != 0 || !strings.Contains(out, "tls.key: ENC[AES256_GCM,data:") || !strings.Contains(out, "name: enc-tls") || !strings.Contains(out, "encrypted_regex: ^(data|stringData)$") {
		t.Fatalf("--encrypt: exit %d\n%s%s", code, out, errOut)
	}
	leaks("--encrypt output", out+errOut)
	manifests := filepath.Join(work, "manifests")
	if err := os.Mkdir(manifests, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(manifests, "enc-tls.yaml"), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	backendManifests(t, manifests, "enc.test", "enc-tls")
	if lo, code := run(t, "", "lint", "--sops-age-key-file", ageFile, manifests); code != 0 || !strings.HasPrefix(lo, "no problems found") {
		t.Errorf("lint of the encrypted Secret with its key: exit %d\n%s", code, lo)
	}

	ready := make(chan app.Addrs, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Serve(ctx, app.ServeConfig{
			Manifests: []string{manifests}, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
			IngressClass: "moat", WatchIngressWithoutClass: true, HTTPSRedirectPort: 443, SOPSAgeKeyFile: ageFile,
			Log: slog.New(slog.DiscardHandler), Ready: func(a app.Addrs) { ready <- a },
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("moat serve: %v", err)
		}
	}()
	var addrs app.Addrs
	select {
	case addrs = <-ready:
	case err := <-done:
		t.Fatalf("moat serve: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("moat serve not ready within 15s")
	}
	caPEM, err := os.ReadFile(filepath.Join(certDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	if _, body := get(t, addrs.HTTPS, "enc.test", roots); body != "hello from web" {
		t.Errorf("body %q", body)
	}

	// --seal, with a controller certificate as kubeseal --fetch-cert
	// prints it.
	sk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sealed-secret"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &sk.PublicKey, sk)
	if err != nil {
		t.Fatal(err)
	}
	sealCert := filepath.Join(work, "sealing.pem")
	writePEM(t, sealCert, "CERTIFICATE", der)
	out, errOut, code = runIO(t, "", "secret", "tls", "enc-tls", "--cert", crtFile, "--key", keyFile, "-n", "shop", "--seal", sealCert)
	if code != 0 {
		t.Fatalf("--seal: exit %d\n%s%s", code, out, errOut)
	}
	leaks("--seal output", out+errOut)
	docs := sealed.Find([]byte(out))
	if len(docs) != 1 || docs[0].Err != nil {
		t.Fatalf("--seal output:\n%s", out)
	}
	fp := "k"
	sec, _, err := sealed.Unseal(docs[0].Object, sealed.Keys{fp: sk}, "default")
	if err != nil || sec.Namespace != "shop" || sec.Type != corev1.SecretTypeTLS || string(sec.Data["tls.key"]) != string(keyPEM) {
		t.Errorf("unsealed %v %v", sec, err)
	}
	// Strict scope: renamed, it does not open.
	docs[0].Object.Name = "stolen"
	if _, _, err := sealed.Unseal(docs[0].Object, sealed.Keys{fp: sk}, "default"); err == nil {
		t.Errorf("a strictly sealed Secret opened under another name")
	}
	if out, code := run(t, "", "secret", "tls", "x", "--cert", crtFile, "--key", keyFile, "--seal", sealCert); code != 1 || !strings.Contains(out, "namespace") {
		t.Errorf("--seal without a namespace: exit %d\n%s", code, out)
	}
	if _, code := run(t, "", "secret", "tls", "x", "--cert", crtFile, "--key", keyFile, "--seal", sealCert, "--scope", "cluster-wide"); code != 0 {
		t.Errorf("--seal --scope cluster-wide without a namespace: exit %d", code)
	}
	if out, code := run(t, "", "secret", "tls", "x", "--cert", crtFile, "--key", keyFile, "--encrypt", "pgp:ABC"); code != 1 {
		t.Errorf("--encrypt pgp: exit %d\n%s", code, out)
	}
}
