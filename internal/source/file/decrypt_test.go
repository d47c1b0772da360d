package file

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/k8s"
	"github.com/moat-ingress/moat/internal/store"
)

// keyedDecrypter is a stand-in for internal/secrets: a file reading
// "ENCRYPTED" opens to a Service whose port is the key file's content.
type keyedDecrypter struct{ keyFile string }

func (d keyedDecrypter) KeyFiles() []string { return []string{d.keyFile} }

func (d keyedDecrypter) Decrypt(path string, data []byte) ([]store.Object, []diag.Diagnostic, bool, bool) {
	if strings.TrimSpace(string(data)) != "ENCRYPTED" {
		return nil, nil, false, false
	}
	key, err := os.ReadFile(d.keyFile)
	port, perr := strconv.Atoi(strings.TrimSpace(string(key)))
	if err != nil || perr != nil {
		return nil, []diag.Diagnostic{{Object: diag.ObjectRef{Origin: diag.Origin{File: path}}, Severity: diag.Error, Reason: "NoKey", Message: "no key"}}, true, true
	}
	objs, diags := k8s.Decode([]byte(service("web", port)), path)
	return objs, diags, true, false
}

// TestDecrypterKeyRotation: an encrypted file opens with the key; a key
// mounted from a Kubernetes Secret (kubelet's ..data swap) that changes
// re-reads it; a key that disappears keeps the last good content.
func TestDecrypterKeyRotation(t *testing.T) {
	dir := t.TempDir()
	manifests, keys := filepath.Join(dir, "manifests"), filepath.Join(dir, "keys")
	write(t, filepath.Join(manifests, "web.yaml"), "ENCRYPTED\n")
	write(t, filepath.Join(manifests, "plain.yaml"), service("plain", 90))
	write(t, filepath.Join(keys, "..v1", "key"), "80")
	must(t, os.Symlink("..v1", filepath.Join(keys, "..data")))
	must(t, os.Symlink(filepath.Join("..data", "key"), filepath.Join(keys, "key")))
	swap := func(version, key string) {
		t.Helper()
		if key != "" {
			write(t, filepath.Join(keys, version, "key"), key)
		} else {
			must(t, os.MkdirAll(filepath.Join(keys, version), 0o755))
		}
		must(t, os.Symlink(version, filepath.Join(keys, "..data_tmp")))
		must(t, os.Rename(filepath.Join(keys, "..data_tmp"), filepath.Join(keys, "..data")))
	}

	h := newHarness(t, manifests)
	WithDecrypter(keyedDecrypter{keyFile: filepath.Join(keys, "key")})(h.src)
	h.run()
	h.eventually("plain:90 web:80")

	swap("..v2", "81")
	h.eventually("plain:90 web:81")

	swap("..v3", "")
	deadline := time.Now().Add(waitFor)
	for {
		sn := h.eventually("plain:90 web:81")
		if hasDiag(sn.Diagnostics, "NoKey", "web.yaml") && hasDiag(sn.Diagnostics, ReasonLastGoodKept, "web.yaml") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no NoKey and LastGoodManifestKept for web.yaml:\n%v", sn.Diagnostics)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
