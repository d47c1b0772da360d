// Package cluster tests `moat controller` against a real kube-apiserver and
// etcd (built from Go modules by hack/kube/build.sh, started with
// controller-runtime's envtest).
//
// The API server rejects loopback addresses in EndpointSlices, so the echo
// backends need other local addresses. The test binary therefore re-runs
// itself in a new network namespace (root only), brings lo up there and
// gives it 10.244.0.1/24; the whole /24 is then local to that namespace
// and never seen outside it.
package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

const (
	// inNetnsEnv marks the re-executed test binary.
	inNetnsEnv = "MOAT_CLUSTER_IN_NETNS"
	// backendNet is given to lo inside the namespace.
	backendNet  = "10.244.0.1"
	backendMask = "255.255.255.0"
)

// cp is the control plane shared by the tests of this package, started
// once by TestMain.
var cp *controlPlane

type controlPlane struct {
	env *envtest.Environment
	// admin is a system:masters client.
	admin    *rest.Config
	client   kubernetes.Interface
	kubectl  string
	kubecfg  string
	assets   string
	certDir  string
	tempRoot string
}

func TestMain(m *testing.M) {
	if os.Getenv(inNetnsEnv) == "" {
		os.Exit(reexec())
	}
	os.Exit(runInNetns(m))
}

// reexec checks the prerequisites and runs this test binary again inside a
// new network namespace, passing its exit status through.
func reexec() int {
	assets, err := findAssets()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL test/cluster: %v\n", err)
		return 1
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "FAIL test/cluster: must run as root: the tests create a network namespace for the echo backends'"+
			" non-loopback addresses (the API server rejects loopback endpoints). Run: sudo -E env PATH=$PATH go test ./test/cluster")
		return 1
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), inNetnsEnv+"=1", "KUBEBUILDER_ASSETS="+assets)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "FAIL test/cluster: cannot start the tests in a new network namespace (%v); "+
			"they need root with CAP_SYS_ADMIN (in a container: --privileged or --cap-add SYS_ADMIN)\n", err)
		return 1
	}
	return 0
}

// findAssets returns the folder holding kube-apiserver, etcd and kubectl:
// $KUBEBUILDER_ASSETS, else what hack/kube/build.sh has built.
func findAssets() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	how := "KUBEBUILDER_ASSETS=" + dir
	if dir == "" {
		out, err := exec.Command("../../hack/kube/build.sh", "--print").Output()
		if err != nil {
			return "", errors.New("kube-apiserver, etcd and kubectl are not built: run hack/kube/build.sh (about 10 minutes on 2 cores, cached afterwards)" +
				" or set KUBEBUILDER_ASSETS to a folder holding them")
		}
		dir = strings.TrimSpace(string(out))
		how = "hack/kube/build.sh --print"
	}
	for _, b := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("%s: no %s in %s: run hack/kube/build.sh", how, b, dir)
		}
	}
	return dir, nil
}

func runInNetns(m *testing.M) int {
	if err := setupLoopback(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL test/cluster: network namespace setup: %v\n", err)
		return 1
	}
	c, err := startControlPlane(os.Getenv("KUBEBUILDER_ASSETS"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL test/cluster: starting kube-apiserver and etcd: %v\n", err)
		if c != nil {
			c.stop()
		}
		return 1
	}
	cp = c
	code := m.Run()
	c.stop()
	return code
}

// setupLoopback brings lo up and adds backendNet/24 to it (as the alias
// lo:1, the ioctl way, so no netlink library or ip(8) is needed). On lo the
// kernel makes the whole prefix local.
func setupLoopback() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	alias, err := unix.NewIfreq("lo:1")
	if err != nil {
		return err
	}
	if err := alias.SetInet4Addr(parse4(backendNet)); err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFADDR, alias); err != nil {
		return fmt.Errorf("lo:1 address %s: %w", backendNet, err)
	}
	if err := alias.SetInet4Addr(parse4(backendMask)); err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFNETMASK, alias); err != nil {
		return fmt.Errorf("lo:1 netmask: %w", err)
	}
	return nil
}

func parse4(s string) []byte {
	var b [4]byte
	_, _ = fmt.Sscanf(s, "%d.%d.%d.%d", &b[0], &b[1], &b[2], &b[3])
	return b[:]
}

func startControlPlane(assets string) (*controlPlane, error) {
	root, err := os.MkdirTemp("", "moat-cluster-")
	if err != nil {
		return nil, err
	}
	c := &controlPlane{assets: assets, kubectl: filepath.Join(assets, "kubectl"), tempRoot: root, certDir: filepath.Join(root, "apiserver")}
	if err := os.Mkdir(c.certDir, 0o700); err != nil {
		return c, err
	}
	api := &envtest.APIServer{
		// A fixed folder keeps the serving certificate across a restart,
		// so clients reconnect (see TestAPIServerRestart).
		CertDir:      c.certDir,
		StartTimeout: 2 * time.Minute,
		StopTimeout:  time.Minute,
		Out:          nil,
		Err:          nil,
	}
	// The namespace has no default route to derive an advertise address
	// from; with a loopback one, 1.37 needs the endpoints reconciler off
	// (it would write loopback Endpoints for the kubernetes Service).
	api.Configure().Set("advertise-address", "127.0.0.1")
	api.Configure().Set("endpoint-reconciler-type", "none")
	// Without a watch drain period a SIGTERM leaves open watches (moat's
	// informers) to the HTTP server's 60 s shutdown timeout; with one the
	// server closes them and stops in about a second.
	api.Configure().Set("shutdown-watch-termination-grace-period", "2s")
	// The Gateway API CRDs of the release moat pins, from its Go module
	// (gateway_test.go); the other tests run with them installed too, as
	// in most clusters now.
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		return c, fmt.Errorf("finding the Gateway API CRDs (go list -m sigs.k8s.io/gateway-api): %w", err)
	}
	c.env = &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")},
		ErrorIfCRDPathMissing:    true,
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
		ControlPlane:             envtest.ControlPlane{APIServer: api},
	}
	if c.admin, err = c.env.Start(); err != nil {
		return c, err
	}
	if c.client, err = kubernetes.NewForConfig(c.admin); err != nil {
		return c, err
	}
	user, err := c.env.ControlPlane.AddUser(envtest.User{Name: "moat-test-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return c, err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return c, err
	}
	c.kubecfg = filepath.Join(root, "kubeconfig")
	if err := os.WriteFile(c.kubecfg, kc, 0o600); err != nil {
		return c, err
	}
	return c, nil
}

func (c *controlPlane) stop() {
	if c.env != nil {
		if err := c.env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the control plane: %v\n", err)
		}
	}
	os.RemoveAll(c.tempRoot)
}
