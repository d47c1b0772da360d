package waitshutdowncmd

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestFindServers reads a /proc-like tree: only moat serve and moat
// controller processes other than the caller are picked.
func TestFindServers(t *testing.T) {
	proc := t.TempDir()
	for pid, cmdline := range map[string]string{
		"1":    "/moat\x00controller\x00--ingress-class=moat\x00",
		"7":    "/moat\x00wait-shutdown\x00",
		"9":    "/usr/local/bin/moat\x00serve\x00--manifests\x00/m\x00",
		"12":   "/bin/sh\x00-c\x00moat controller\x00",
		"13":   "/moat\x00controller\x00", // the caller itself
		"self": "/moat\x00controller\x00",
		"20":   "",
	} {
		if err := os.MkdirAll(filepath.Join(proc, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, pid, "cmdline"), []byte(cmdline), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := findServers(proc, 13)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int{1, 9}) {
		t.Errorf("findServers = %v, want [1 9]", got)
	}
	if _, err := findServers(t.TempDir(), 13); err == nil {
		t.Error("no moat process: want an error, got none")
	}
}
