package kubectlcmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPluginName: installed as kubectl-moat the binary is the plugin, under
// any folder; as moat it is not.
func TestPluginName(t *testing.T) {
	for argv0, want := range map[string]bool{
		"kubectl-moat": true, "/usr/local/bin/kubectl-moat": true,
		"kubectl-moat.exe": true, "moat": false, "/usr/bin/moat": false, "kubectl-moat-old": false,
	} {
		if got := IsPlugin(argv0); got != want {
			t.Errorf("IsPlugin(%q) = %v", argv0, got)
		}
	}
}

// TestPluginCommands: `kubectl moat` answers lint, backends, certs and conf.
func TestPluginCommands(t *testing.T) {
	cmd := New("kubectl moat")
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"lint", "backends", "certs", "conf", "--via", "--namespace"} {
		if !strings.Contains(out.String(), sub) {
			t.Errorf("kubectl moat --help lacks %s:\n%s", sub, out.String())
		}
	}
	// A bad --via is refused before any request.
	cmd = New("kubectl moat")
	cmd.SetArgs([]string{"conf", "--via=ssh", "--kubeconfig", writeKubeconfig(t)})
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--via=ssh") {
		t.Errorf("--via=ssh: %v", err)
	}
}

// writeKubeconfig writes a kubeconfig naming a server nothing is asked of.
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	kc := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\n" +
		"users: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n"
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
