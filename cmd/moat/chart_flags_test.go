package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moat-ingress/moat/internal/cli/controllercmd"
	"github.com/spf13/pflag"
)

// TestChartKnowsControllerFlags: charts/moat refuses controller.extraArgs
// naming a flag it does not list (moat.knownFlags), so every flag of `moat
// controller` must be listed there, or users could not pass it.
func TestChartKnowsControllerFlags(t *testing.T) {
	b, err := os.ReadFile("../../charts/moat/templates/_helpers.tpl")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)define "moat.knownFlags" -}}\n(.*?)\n`).FindSubmatch(b)
	if m == nil {
		t.Fatal(`charts/moat/templates/_helpers.tpl: no "moat.knownFlags" list`)
	}
	known := strings.Fields(string(m[1]))
	controllercmd.New().Flags().VisitAll(func(f *pflag.Flag) {
		if !slices.Contains(known, f.Name) {
			t.Errorf("moat controller --%s is missing from moat.knownFlags in charts/moat/templates/_helpers.tpl", f.Name)
		}
	})
}
