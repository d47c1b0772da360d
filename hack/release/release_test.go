package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestRelease runs a release for linux/amd64 and linux/arm64 twice and
// checks the image: two architectures, entrypoint, user, the files of the
// root filesystem, the stamped version, and the same index digest and
// checksums both times. To bound the test's CPU it builds testdata/standin
// (moat's version command alone) instead of moat: a cold cross build of
// moat with -trimpath recompiles every dependency, minutes on 2 cores;
// TestStampedVersion checks moat's own stamp. darwin/arm64 only adds a
// third build.
func TestRelease(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	const version, commit = "v9.8.7-test", "0123456789abcdef0123456789abcdef01234567"
	created := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	opts := func(out string) Options {
		return Options{Version: version, Commit: commit, Created: created, Platforms: []string{"linux/amd64", "linux/arm64"},
			Package: "./hack/release/testdata/standin", Root: root, Out: out, Log: io.Discard}
	}
	ctx := context.Background()
	first, err := Release(ctx, opts(filepath.Join(t.TempDir(), "a")))
	if err != nil {
		t.Fatal(err)
	}
	second, err := Release(ctx, opts(filepath.Join(t.TempDir(), "b")))
	if err != nil {
		t.Fatal(err)
	}
	if first.IndexDigest != second.IndexDigest {
		t.Errorf("same inputs, different image index digests: %s, %s", first.IndexDigest, second.IndexDigest)
	}
	s1, _ := os.ReadFile(filepath.Join(filepath.Dir(first.Layout), "SHA256SUMS"))
	s2, _ := os.ReadFile(filepath.Join(filepath.Dir(second.Layout), "SHA256SUMS"))
	if len(s1) == 0 || !bytes.Equal(s1, s2) {
		t.Errorf("SHA256SUMS differ between two builds:\n%s\n%s", s1, s2)
	}
	for _, want := range []string{"moat-" + version + "-linux-amd64\n", "moat-" + version + "-linux-arm64\n", "moat-" + version + "-oci.tar\n"} {
		if !bytes.Contains(s1, []byte("  "+want)) {
			t.Errorf("SHA256SUMS lacks %q:\n%s", want, s1)
		}
	}

	// The layout as a registry client would read it.
	p, err := layout.FromPath(first.Layout)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	topm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(topm.Manifests) != 1 || topm.Manifests[0].Digest != first.IndexDigest ||
		topm.Manifests[0].Annotations["io.containerd.image.name"] != Repository+":"+version {
		t.Fatalf("index.json = %+v, want one entry for the index %s, named %s:%s", topm.Manifests, first.IndexDigest, Repository, version)
	}
	idx, err := top.ImageIndex(first.IndexDigest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var archs []string
	for _, m := range im.Manifests {
		archs = append(archs, m.Platform.OS+"/"+m.Platform.Architecture)
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkImage(t, img, m.Platform.Architecture, version, commit, created)
	}
	if !slices.Equal(archs, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("index platforms %v", archs)
	}

	// The OCI archive is the layout, and the Docker archive loads as the
	// tagged image.
	checkArchive(t, first.OCIArchive, []string{"oci-layout", "index.json", "blobs/sha256/" + first.IndexDigest.Hex})
	dimg, err := tarball.ImageFromPath(filepath.Join(filepath.Dir(first.Layout), "moat-"+version+"-linux-arm64.docker.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, dimg, "arm64", version, commit, created)

	// The host's binary says what was stamped.
	host := first.Binaries["linux/"+runtime.GOARCH]
	if runtime.GOOS != "linux" || host == "" {
		t.Fatalf("no binary for the host (%s/%s) to run", runtime.GOOS, runtime.GOARCH)
	}
	out, err := exec.Command(host, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "moat "+version+" (commit "+commit) {
		t.Errorf("version: %q, %v", out, err)
	}
}

// TestStampedVersion: moat built with the release's -ldflags answers `moat
// version` with the version and commit (built for the host, without
// -trimpath, so the test reuses the build cache of the other tests).
func TestStampedVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "moat")
	cmd := exec.Command("go", "build", "-ldflags", LDFlags("v1.2.3", "feedface"), "-o", bin, "./cmd/moat")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "moat v1.2.3 (commit feedface, go") {
		t.Errorf("moat version: %q, %v", out, err)
	}
}

func checkImage(t *testing.T, img v1.Image, arch, version, commit string, created time.Time) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != "linux" || cf.Architecture != arch || c.User != "65532:65532" ||
		!slices.Equal(c.Entrypoint, []string{"/moat"}) || !slices.Equal(c.Cmd, []string{"controller"}) ||
		c.Labels["org.opencontainers.image.version"] != version || c.Labels["org.opencontainers.image.revision"] != commit ||
		!cf.Created.Time.Equal(created) {
		t.Errorf("%s config: os %s arch %s created %s config %+v", arch, cf.OS, cf.Architecture, cf.Created, c)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%s: %d layers, %v", arch, len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string][]byte{}
	owners := map[string]int{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
		owners[h.Name] = h.Uid
		if !h.ModTime.Equal(created) {
			t.Errorf("%s: %s dated %s", arch, h.Name, h.ModTime)
		}
	}
	exe := files["moat"]
	wantMagic := map[string][]byte{"amd64": {0x7f, 'E', 'L', 'F', 2, 1, 1}, "arm64": {0x7f, 'E', 'L', 'F', 2, 1, 1}}[arch]
	if len(exe) < 1<<19 || !bytes.HasPrefix(exe, wantMagic) {
		t.Errorf("%s: /moat is not a 64-bit ELF binary (%d bytes)", arch, len(exe))
	} else if machine := int(exe[18]) | int(exe[19])<<8; machine != map[string]int{"amd64": 62, "arm64": 183}[arch] {
		t.Errorf("%s: /moat is for ELF machine %d", arch, machine)
	}
	if !strings.Contains(string(files["etc/passwd"]), "nonroot:x:65532:65532:") || owners["home/nonroot/"] != 65532 {
		t.Errorf("%s: no nonroot user: %q", arch, files["etc/passwd"])
	}
	n := 0
	for rest := files["etc/ssl/certs/ca-certificates.crt"]; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			t.Errorf("%s: CA bundle: %v", arch, err)
		}
		n++
	}
	if n < 100 {
		t.Errorf("%s: CA bundle holds %d certificates", arch, n)
	}
}

func checkArchive(t *testing.T, path string, want []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	for _, w := range want {
		if !slices.Contains(names, w) {
			t.Errorf("%s lacks %s: %v", path, w, names)
		}
	}
}
