// Command release builds a moat release without Docker: static binaries for
// each platform with the version and commit stamped (`moat version`), their
// SHA-256 checksums, and a multi-arch OCI image (binary, CA certificates and
// a non-root user) assembled with go-containerregistry, written as an OCI
// layout, an OCI archive (`docker load`, `podman load`) and one Docker
// archive per architecture.
//
//	go run ./hack/release -version v0.1.0        (what hack/release.sh runs)
//
// The same commit, Go version and SOURCE_DATE_EPOCH (default: the commit's
// time) give byte-identical outputs, so the same image digest.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// DefaultPlatforms are the platforms of a release; the linux ones also get
// an image.
const DefaultPlatforms = "linux/amd64,linux/arm64,darwin/arm64"

// Repository is where the image is published; it names the image in the
// archives (`docker load` tags it so).
const Repository = "ghcr.io/moat-ingress/moat"

// uid and gid of the image's user, distroless's "nonroot" (the Deployment
// and the chart run as it too).
const nonroot = 65532

// Options says what to build.
type Options struct {
	Version   string
	Commit    string
	Created   time.Time
	Platforms []string
	// Package is the main package built (default ./cmd/moat).
	Package string
	// Root is the module's folder (where go build runs); Out the output.
	Root, Out string
	// Log receives progress lines.
	Log io.Writer
}

// Result lists what Release wrote.
type Result struct {
	Binaries    map[string]string // platform -> path
	Layout      string            // OCI layout folder
	OCIArchive  string
	IndexDigest v1.Hash
}

func main() {
	var (
		o         Options
		platforms string
	)
	flag.StringVar(&o.Version, "version", "", "release version, e.g. v0.1.0 (required)")
	flag.StringVar(&o.Out, "out", "dist", "output folder (emptied first)")
	flag.StringVar(&platforms, "platforms", DefaultPlatforms, "GOOS/GOARCH list; the linux ones also get an image")
	flag.StringVar(&o.Commit, "commit", "", "commit stamped into the binary (default: git rev-parse HEAD)")
	flag.Parse()
	o.Platforms = strings.Split(platforms, ",")
	o.Log = os.Stderr
	if err := run(&o); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(o *Options) error {
	if !regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`).MatchString(o.Version) {
		return fmt.Errorf("-version %q: want vMAJOR.MINOR.PATCH[-PRERELEASE], e.g. v0.1.0", o.Version)
	}
	root, err := gitOut("", "rev-parse", "--show-toplevel")
	if err != nil {
		return fmt.Errorf("not in a git checkout: %w", err)
	}
	o.Root = root
	if o.Commit == "" {
		if o.Commit, err = gitOut(root, "rev-parse", "HEAD"); err != nil {
			return err
		}
	}
	if o.Created, err = sourceDate(root); err != nil {
		return err
	}
	if dirty, _ := gitOut(root, "status", "--porcelain", "--untracked-files=no"); dirty != "" {
		fmt.Fprintf(o.Log, "release: warning: the work tree has uncommitted changes; the binaries are not commit %s\n", o.Commit)
	}
	res, err := Release(context.Background(), *o)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "release: image index %s in %s and %s\n", res.IndexDigest, res.Layout, res.OCIArchive)
	return nil
}

// sourceDate is SOURCE_DATE_EPOCH, else the commit's time.
func sourceDate(root string) (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		var err error
		if s, err = gitOut(root, "log", "-1", "--format=%ct"); err != nil {
			return time.Time{}, err
		}
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Release builds the binaries, checksums and image into o.Out.
func Release(ctx context.Context, o Options) (*Result, error) {
	if err := os.RemoveAll(o.Out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	res := &Result{Binaries: map[string]string{}}
	var adds []mutate.IndexAddendum
	var sums []string
	for _, p := range o.Platforms {
		goos, goarch, ok := strings.Cut(p, "/")
		if !ok {
			return nil, fmt.Errorf("platform %q: want GOOS/GOARCH", p)
		}
		bin := filepath.Join(o.Out, fmt.Sprintf("moat-%s-%s-%s", o.Version, goos, goarch))
		fmt.Fprintf(o.Log, "release: building %s\n", bin)
		pkg := o.Package
		if pkg == "" {
			pkg = "./cmd/moat"
		}
		if err := Build(ctx, o.Root, pkg, goos, goarch, o.Version, o.Commit, bin); err != nil {
			return nil, err
		}
		res.Binaries[p] = bin
		sum, err := fileSum(bin)
		if err != nil {
			return nil, err
		}
		sums = append(sums, sum+"  "+filepath.Base(bin))
		if goos != "linux" {
			continue
		}
		exe, err := os.ReadFile(bin)
		if err != nil {
			return nil, err
		}
		img, err := Image(exe, goarch, o.Version, o.Commit, o.Created)
		if err != nil {
			return nil, err
		}
		arch := filepath.Join(o.Out, fmt.Sprintf("moat-%s-%s-%s.docker.tar", o.Version, goos, goarch))
		if err := writeDockerArchive(arch, img, o.Version); err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: goos, Architecture: goarch}}})
	}
	if len(adds) == 0 {
		return nil, errors.New("no linux platform: no image to build")
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	d, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	res.IndexDigest = d
	res.Layout = filepath.Join(o.Out, "oci")
	if err := writeLayout(res.Layout, idx, o.Version); err != nil {
		return nil, err
	}
	res.OCIArchive = filepath.Join(o.Out, fmt.Sprintf("moat-%s-oci.tar", o.Version))
	if err := tarDir(res.OCIArchive, res.Layout, o.Created); err != nil {
		return nil, err
	}
	sum, err := fileSum(res.OCIArchive)
	if err != nil {
		return nil, err
	}
	sums = append(sums, sum+"  "+filepath.Base(res.OCIArchive))
	sort.Slice(sums, func(i, j int) bool { return sums[i][66:] < sums[j][66:] })
	return res, os.WriteFile(filepath.Join(o.Out, "SHA256SUMS"), []byte(strings.Join(sums, "\n")+"\n"), 0o644)
}

// Build compiles a static moat for goos/goarch with version and commit
// stamped and nothing machine-specific in it (no paths, no build ID, no VCS
// state), so that the same commit builds the same bytes.
func Build(ctx context.Context, root, pkg, goos, goarch, version, commit, out string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", LDFlags(version, commit), "-o", abs, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s/%s: %v\n%s", goos, goarch, err, out)
	}
	return nil
}

// LDFlags strips the symbol table and build ID and stamps version and
// commit into cmd/moat's variables.
func LDFlags(version, commit string) string {
	return fmt.Sprintf("-s -w -buildid= -X main.version=%s -X main.commit=%s", version, commit)
}

// Image is the image of one architecture: one layer holding /moat, the CA
// certificates and the nonroot user, run as that user.
func Image(exe []byte, arch, version, commit string, created time.Time) (v1.Image, error) {
	layerTar, err := rootFS(exe, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: created}
	cf.Config = v1.Config{
		User:         fmt.Sprintf("%d:%d", nonroot, nonroot),
		Entrypoint:   []string{"/moat"},
		Cmd:          []string{"controller"},
		Env:          []string{"PATH=/", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "8443/tcp": {}, "10254/tcp": {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "moat",
			"org.opencontainers.image.version":  version,
			"org.opencontainers.image.revision": commit,
			"org.opencontainers.image.source":   "https://github.com/moat-ingress/moat",
			"org.opencontainers.image.licenses": "Apache-2.0",
			"org.opencontainers.image.created":  created.Format(time.RFC3339),
		},
	}
	// The history entry's time is part of the config too.
	cf.History = []v1.History{{Created: v1.Time{Time: created}, CreatedBy: "hack/release", Comment: "moat " + version}}
	return mutate.ConfigFile(img, cf)
}

// CACertificates is the PEM bundle of golang.org/x/crypto/x509roots/fallback
// (Mozilla's roots, pinned in go.sum): the same on every machine, unlike the
// build host's /etc/ssl. Roots that Mozilla trusts only with constraints
// (e.g. distrust after a date) are left out: PEM cannot carry them.
func CACertificates() []byte {
	var b bytes.Buffer
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate})
	}
	return b.Bytes()
}

// rootFS is the layer's tar: every entry owned by root unless said, with
// the one fixed time.
func rootFS(exe []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", nonroot, nonroot)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", nonroot)
	for _, step := range []func() error{
		func() error { return dir("etc", 0o755, 0) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return dir("etc/ssl", 0o755, 0) },
		func() error { return dir("etc/ssl/certs", 0o755, 0) },
		func() error { return file("etc/ssl/certs/ca-certificates.crt", 0o644, CACertificates()) },
		func() error { return dir("home", 0o755, 0) },
		func() error { return dir("home/nonroot", 0o700, nonroot) },
		func() error { return file("moat", 0o755, exe) },
		func() error { return dir("tmp", 0o1777, 0) },
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeLayout writes the index as an OCI image layout whose index.json
// names it by tag, as `docker buildx --output type=oci` does, so `docker
// load` and `podman load` tag what they load and `crane push DIR REF` pushes
// the multi-arch index.
func writeLayout(dir string, idx v1.ImageIndex, version string) error {
	p, err := layout.Write(dir, mutate.IndexMediaType(empty.Index, types.OCIImageIndex))
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": version,
		"io.containerd.image.name":          Repository + ":" + version,
	}))
}

func writeDockerArchive(path string, img v1.Image, version string) error {
	tag, err := name.NewTag(Repository + ":" + version)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, tag, img)
}

// tarDir archives dir in name order with fixed owners and times.
func tarDir(out, dir string, mtime time.Time) error {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: rel, Mode: 0o644, ModTime: mtime, Format: tar.FormatPAX}
		if fi.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, rel+"/", 0o755
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, src)
		src.Close()
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
