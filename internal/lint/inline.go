package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moat-ingress/moat/internal/diag"
)

// Outputs that code-review tools show on the lines of a pull request:
// SARIF 2.1.0 (GitHub code scanning, GitLab, Azure DevOps, IDE viewers)
// and GitHub Actions workflow commands.

// docsURI is where each code is explained; SARIF rules link to it.
const docsURI = "https://github.com/moat-ingress/moat/blob/main/docs/diagnostics.md"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID      string       `json:"id"`
	HelpURI string       `json:"helpUri"`
	Short   sarifMessage `json:"shortDescription"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifLocation struct {
	Physical *sarifPhysical `json:"physicalLocation,omitempty"`
	Logical  []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	Artifact sarifArtifact `json:"artifactLocation"`
	Region   *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// sarifLevel maps severities to SARIF's levels (§3.27.10).
func sarifLevel(s diag.Severity) string {
	switch s {
	case diag.Error:
		return "error"
	case diag.Warning:
		return "warning"
	}
	return "note"
}

// WriteSARIF prints the diagnostics as one SARIF 2.1.0 log. File paths are
// made relative to the working directory (code scanning resolves them
// against the repository root, where CI runs lint).
func WriteSARIF(w io.Writer, r *Result) error {
	wd, _ := os.Getwd()
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "moat lint", InformationURI: docsURI, Rules: []sarifRule{}}}, Results: []sarifResult{}}
	index := map[string]int{}
	codes := make([]string, 0)
	for _, d := range r.Diagnostics {
		if _, ok := index[d.Reason]; !ok {
			index[d.Reason] = 0
			codes = append(codes, d.Reason)
		}
	}
	sort.Strings(codes)
	for i, c := range codes {
		index[c] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: c, HelpURI: docsURI + "#" + strings.ToLower(c), Short: sarifMessage{Text: c}})
	}
	for _, d := range r.Diagnostics {
		res := sarifResult{RuleID: d.Reason, RuleIndex: index[d.Reason], Level: sarifLevel(d.Severity), Message: sarifMessage{Text: inlineText(d)}}
		var loc sarifLocation
		if d.Object.File != "" && d.Object.File != StdinName {
			loc.Physical = &sarifPhysical{Artifact: sarifArtifact{URI: relURI(wd, d.Object.File)}}
			if d.Object.Line > 0 {
				loc.Physical.Region = &sarifRegion{StartLine: d.Object.Line}
			}
		}
		if obj := d.Object.String(); obj != "" {
			loc.Logical = []sarifLogical{{FullyQualifiedName: obj, Kind: "object"}}
		}
		if loc.Physical != nil || loc.Logical != nil {
			res.Locations = []sarifLocation{loc}
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

// inlineText is the message shown on the line: object, field, message and
// hint.
func inlineText(d diag.Diagnostic) string {
	var b strings.Builder
	var about []string
	if o := d.Object.String(); o != "" {
		about = append(about, o)
	}
	if d.Field != "" {
		about = append(about, d.Field)
	}
	if len(about) > 0 {
		fmt.Fprintf(&b, "%s: ", strings.Join(about, ", "))
	}
	b.WriteString(d.Message)
	if d.Hint != "" {
		b.WriteString("\nhint: ")
		b.WriteString(d.Hint)
	}
	return b.String()
}

// relURI returns file relative to wd with forward slashes, or file as it
// is when it lies outside wd.
func relURI(wd, file string) string {
	abs, err := filepath.Abs(file)
	if err == nil && wd != "" {
		if rel, err := filepath.Rel(wd, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(file)
}

// WriteGitHub prints one GitHub Actions workflow command per diagnostic
// (::error, ::warning, ::notice with file, line and the code as title),
// which the Actions run and the pull request's files view show on the
// line, then the summary as a plain line.
func WriteGitHub(w io.Writer, r *Result) error {
	wd, _ := os.Getwd()
	var b strings.Builder
	for _, d := range r.Diagnostics {
		cmd := map[diag.Severity]string{diag.Error: "error", diag.Warning: "warning"}[d.Severity]
		if cmd == "" {
			cmd = "notice"
		}
		var props []string
		if d.Object.File != "" && d.Object.File != StdinName {
			props = append(props, "file="+ghProperty(relURI(wd, d.Object.File)))
			if d.Object.Line > 0 {
				props = append(props, fmt.Sprintf("line=%d", d.Object.Line))
			}
		}
		props = append(props, "title="+ghProperty("moat lint "+d.Reason))
		fmt.Fprintf(&b, "::%s %s::%s\n", cmd, strings.Join(props, ","), ghData(inlineText(d)))
	}
	b.WriteString(r.Summary())
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// ghData escapes a workflow command's message as the Actions runner
// expects (toolkit's escapeData); ghProperty also escapes ':' and ','.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
