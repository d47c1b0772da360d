package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moat-ingress/moat/internal/cli"
	"github.com/moat-ingress/moat/internal/testutil"
)

// TestServeAccessLogComplete runs `moat serve` and stops it right after
// some requests: the access log is written in batches, and every request's
// line must still be on stdout once the command has returned.
func TestServeAccessLogComplete(t *testing.T) {
	dir := t.TempDir()
	// Requests no Ingress answers are logged only with
	// enable-access-log-for-default-backend, as in ingress-nginx.
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: default}\nspec:\n  ports: [{port: 80}]\n" +
		"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: default}\ndata: {enable-access-log-for-default-backend: \"true\"}\n"
	if err := os.WriteFile(filepath.Join(dir, "svc.yaml"), []byte(svc), 0o644); err != nil {
		t.Fatal(err)
	}
	httpAddr, httpsAddr, adminAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	var out testutil.SyncBuffer
	cmd := newRootCmd()
	cmd.SetArgs([]string{"serve", "--access-log-format=json", "--manifests", dir, "--configmap", "default/moat", "--http-addr", httpAddr, "--https-addr", httpsAddr,
		"--admin-addr", adminAddr, "--log-level", "error"})
	cmd.SetOut(&out)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	client := &http.Client{Timeout: 5 * time.Second}
	testutil.Eventually(t, 30*time.Second, "moat serve ready", func() error {
		res, err := client.Get("http://" + adminAddr + "/readyz")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", res.StatusCode)
		}
		return nil
	})
	const n = 5
	for i := range n {
		res, err := client.Get(fmt.Sprintf("http://%s/logged-%d", httpAddr, i))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("moat serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("moat serve did not stop within 30 s of its context ending")
	}

	got := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var line struct {
			Path   string `json:"path"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("stdout line is not a JSON access-log line: %q: %v", l, err)
		}
		if strings.HasPrefix(line.Path, "/logged-") {
			got[line.Path] = true
			if line.Status != http.StatusNotFound {
				t.Errorf("%s logged with status %d, want 404 (no Ingress)", line.Path, line.Status)
			}
		}
	}
	for i := range n {
		if p := fmt.Sprintf("/logged-%d", i); !got[p] {
			t.Errorf("no access-log line for %s after shutdown; stdout:\n%s", p, out.String())
		}
	}
}

// TestServeMissingManifests: a --manifests path that does not exist at
// start stops moat serve with an error naming it (a non-zero exit), before
// any listener is bound: it never turns ready serving nothing.
func TestServeMissingManifests(t *testing.T) {
	dir := t.TempDir()
	adminAddr := freeAddr(t)
	missing := filepath.Join(dir, "no", "such", "path")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan struct{})
	var out string
	var code int
	go func() {
		defer close(done)
		_, out, code = runIOContext(ctx, "serve", "--manifests", dir, "--manifests", missing, "--http-addr", freeAddr(t),
			"--https-addr", freeAddr(t), "--admin-addr", adminAddr, "--log-level", "error")
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// Still running: check it never claimed to be ready, then fail.
		res, err := http.Get("http://" + adminAddr + "/readyz")
		if err == nil {
			res.Body.Close()
			t.Errorf("/readyz answered %d", res.StatusCode)
		}
		t.Fatal("moat serve kept running with a missing --manifests path")
	}
	if code == 0 || !strings.Contains(out, missing+": no such file or directory") {
		t.Errorf("exit %d, stderr:\n%s", code, out)
	}
}

// runIOContext runs the root command with args until ctx is done and
// returns stdout, stderr (with the error, as main prints it) and the exit
// status.
func runIOContext(ctx context.Context, args ...string) (string, string, int) {
	cmd := newRootCmd()
	var out, errOut testutil.SyncBuffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	if err := cmd.ExecuteContext(ctx); err != nil {
		errOut.Write([]byte("moat: " + err.Error() + "\n"))
		return out.String(), errOut.String(), cli.ExitCode(err)
	}
	return out.String(), errOut.String(), 0
}

// TestServeDebugAddrFlag: `moat serve --debug-addr` serves /debug/* there
// and no longer on --admin-addr, which keeps /readyz.
func TestServeDebugAddrFlag(t *testing.T) {
	dir := t.TempDir()
	// Requests no Ingress answers are logged only with
	// enable-access-log-for-default-backend, as in ingress-nginx.
	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: default}\nspec:\n  ports: [{port: 80}]\n" +
		"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: moat, namespace: default}\ndata: {enable-access-log-for-default-backend: \"true\"}\n"
	if err := os.WriteFile(filepath.Join(dir, "svc.yaml"), []byte(svc), 0o644); err != nil {
		t.Fatal(err)
	}
	adminAddr, debugAddr := freeAddr(t), freeAddr(t)
	cmd := newRootCmd()
	cmd.SetArgs([]string{"serve", "--manifests", dir, "--http-addr", freeAddr(t), "--https-addr", freeAddr(t),
		"--admin-addr", adminAddr, "--debug-addr", debugAddr, "--access-log=false", "--log-level", "error"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("moat serve did not stop")
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	code := func(addr, path string) (int, error) {
		res, err := client.Get("http://" + addr + path)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	testutil.Eventually(t, 30*time.Second, "moat serve ready", func() error {
		if c, err := code(adminAddr, "/readyz"); err != nil || c != http.StatusOK {
			return fmt.Errorf("readyz %d %v", c, err)
		}
		return nil
	})
	if c, err := code(adminAddr, "/debug/config"); err != nil || c != http.StatusNotFound {
		t.Errorf("admin /debug/config: %d %v, want 404", c, err)
	}
	if c, err := code(debugAddr, "/debug/config"); err != nil || c != http.StatusOK {
		t.Errorf("debug /debug/config: %d %v, want 200", c, err)
	}
}
