//go:build gwconformance

// Package gatewayconformance runs the official Gateway API conformance
// suite (sigs.k8s.io/gateway-api/conformance v1.6.3) against `moat
// controller`, with no kubelet and no container images: a real
// kube-apiserver and etcd (envtest), a real kube-controller-manager
// (Deployments, ReplicaSets, EndpointSlices, namespace deletion, garbage
// collection), and podshim, which binds pods to a fake Node and runs each
// echo server pod as the suite's echo-basic binary in a network namespace
// of its own (hack/gwconformance/podshim).
//
// hack/kube/build.sh builds the control plane and hack/gwconformance/build.sh
// the suite, echo-basic and podshim; hack/conformance.sh runs both and then
// this test. The files carry the build tag gwconformance, so `go test
// ./...` leaves this run (10+ minutes) to hack/conformance.sh. It needs root: the test binary re-runs itself in a new network
// and mount namespace, where lo carries 10.244.0.1/24 (the API server's
// side, the Node at 10.244.0.2) and 10.244.100.1/24 (moat's Gateway address pool),
// and pods get addresses from 10.244.128.0/17 behind veths.
//
// Knobs (environment):
//
//	MOAT_GWC_RUN_TEST=NAME   run one conformance test (no report written to docs/)
//	MOAT_GWC_REPORT=PATH     write the report there instead of docs/conformance/
//	MOAT_GWC_ARGS="..."      more flags for the suite (e.g. --skip-tests=A,B)
//	MOAT_GWC_CHANNEL=C       CRD channel: experimental (default) or standard
//	MOAT_GWC_KEEP=1          keep everything up after the run and print how
//	                         to run the suite again inside (Ctrl-C ends it)
//	MOAT_BIN=PATH            use this moat binary instead of building ./cmd/moat
package gatewayconformance

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const (
	inNetnsEnv = "MOAT_GWC_IN_NETNS"
	// suiteVersion is the conformance module hack/gwconformance pins.
	suiteVersion = "v1.6.3"
	apiNet       = "10.244.0.1/24"   // API server side; the Node is .2
	nodeIP       = "10.244.0.2"      // podshim's Node and kubelet endpoint
	gatewayNet   = "10.244.100.1/24" // makes the whole pool local on lo
	gatewayPool  = "10.244.100.0/24"
	podCIDR      = "10.244.128.0/17"
	usableAddr   = "10.244.100.250" // in the pool
	unusableAddr = "10.245.0.1"     // outside it
)

// assets are the binaries and CRDs the run needs, found before re-executing.
type assets struct {
	kube string // kube-apiserver, etcd, kubectl, kube-controller-manager
	gwc  string // conformance.test, echo-basic, podshim, crd/
	moat string
}

func TestMain(m *testing.M) {
	if os.Getenv(inNetnsEnv) == "" {
		os.Exit(reexec(m))
	}
	os.Exit(m.Run())
}

// reexec finds what the run needs, builds moat, and runs this test binary
// again inside a new network and mount namespace.
func reexec(m *testing.M) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "FAIL test/gatewayconformance: "+format+"\n", a...)
		return 1
	}
	if os.Geteuid() != 0 {
		return fail("must run as root: the run creates network namespaces for the control plane, moat and every pod." +
			" Run: sudo -E env PATH=$PATH hack/conformance.sh")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fail("ip(8) is not installed: podshim needs it for pod network namespaces (apt-get install iproute2)")
	}
	a, err := findAssets()
	if err != nil {
		return fail("%v", err)
	}
	tmp, err := os.MkdirTemp("", "moat-gwc-build-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(tmp)
	if a.moat = os.Getenv("MOAT_BIN"); a.moat == "" {
		a.moat = filepath.Join(tmp, "moat")
		if out, err := exec.Command("go", "build", "-o", a.moat, "../../cmd/moat").CombinedOutput(); err != nil {
			return fail("building moat: %v\n%s", err, out)
		}
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), inNetnsEnv+"=1", "MOAT_GWC_KUBE="+a.kube, "MOAT_GWC_DIR="+a.gwc, "MOAT_GWC_MOAT="+a.moat)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		return fail("cannot start the run in a new network and mount namespace (%v); it needs root with CAP_SYS_ADMIN"+
			" (in a container: --privileged)", err)
	}
	return 0
}

// findAssets locates what hack/kube/build.sh and hack/gwconformance/build.sh
// built; a missing piece names the script that builds it.
func findAssets() (assets, error) {
	var a assets
	print := func(script string) (string, error) {
		out, err := exec.Command("../../"+script, "--print").Output()
		if err != nil {
			return "", fmt.Errorf("%s has not built what this test needs: run %s (or hack/conformance.sh, which runs both build scripts)", script, script)
		}
		return strings.TrimSpace(string(out)), nil
	}
	var err error
	if a.kube = os.Getenv("KUBEBUILDER_ASSETS"); a.kube == "" {
		if a.kube, err = print("hack/kube/build.sh"); err != nil {
			return a, err
		}
	}
	for _, b := range []string{"kube-apiserver", "etcd", "kubectl", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(a.kube, b)); err != nil {
			return a, fmt.Errorf("no %s in %s: run hack/kube/build.sh", b, a.kube)
		}
	}
	if a.gwc, err = print("hack/gwconformance/build.sh"); err != nil {
		return a, err
	}
	for _, b := range []string{"conformance.test", "echo-basic", "podshim", "crd/standard", "crd/experimental"} {
		if _, err := os.Stat(filepath.Join(a.gwc, b)); err != nil {
			return a, fmt.Errorf("no %s in %s: run hack/gwconformance/build.sh", b, a.gwc)
		}
	}
	return a, nil
}
