package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// repoRoot is the module root, two levels above this package.
const repoRoot = "../.."

// reasonCodes finds every diagnostic code the Go sources (tests excluded)
// can emit, by syntax rather than by a hand-kept list:
//   - Reason: "X" in composite literals and d.Reason = "X" assignments;
//   - constants and variables whose name contains "reason" (k8s.ReasonParseError);
//   - string literals passed as a parameter named reason, found by looking
//     up the parameter names of each function and closure
//     (nginxval.Warn(r, key, "X", msg), fail("X", msg, hint)).
func reasonCodes(t *testing.T) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	err := filepath.WalkDir(repoRoot, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (strings.HasPrefix(e.Name(), ".") && p != repoRoot || e.Name() == "testdata" || e.Name() == "vendor") {
			return filepath.SkipDir
		}
		if e.IsDir() && p != repoRoot {
			// A module of its own (hack/kube, hack/gwconformance) is a
			// tool, not moat: its reasons are not moat's diagnostics.
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		if e.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			// Someone else's file mid-edit must not hide every code.
			t.Logf("skipping %s: %v", p, err)
			return nil
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string][]string{}
	add := func(lit ast.Expr) {
		bl, ok := lit.(*ast.BasicLit)
		if !ok || bl.Kind != token.STRING {
			return
		}
		s, err := strconv.Unquote(bl.Value)
		if err != nil || !codeRe.MatchString(s) {
			return
		}
		pos := fset.Position(bl.Pos())
		codes[s] = append(codes[s], pos.String())
	}
	// Parameter positions named reason: functions by "package.Name",
	// closures by "package.name", methods by name.
	funcs, methods := map[string]int{}, map[string]int{}
	for _, f := range files {
		pkg := f.Name.Name
		record := func(m map[string]int, name string, ft *ast.FuncType) {
			i := 0
			for _, fld := range ft.Params.List {
				if len(fld.Names) == 0 {
					i++
					continue
				}
				for _, nm := range fld.Names {
					if strings.EqualFold(nm.Name, "reason") {
						m[name] = i
					}
					i++
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.FuncDecl:
				if x.Recv != nil {
					record(methods, x.Name.Name, x.Type)
				} else {
					record(funcs, pkg+"."+x.Name.Name, x.Type)
				}
			case *ast.AssignStmt:
				// fail := func(reason, msg string) ... closures.
				for i, rhs := range x.Rhs {
					if fl, ok := rhs.(*ast.FuncLit); ok && i < len(x.Lhs) {
						if id, ok := x.Lhs[i].(*ast.Ident); ok {
							record(funcs, pkg+"."+id.Name, fl.Type)
						}
					}
				}
			}
			return true
		})
	}
	// reasonArg returns the index of the reason argument of a call, if any.
	reasonArg := func(f *ast.File, call *ast.CallExpr) (int, bool) {
		switch fn := call.Fun.(type) {
		case *ast.Ident:
			i, ok := funcs[f.Name.Name+"."+fn.Name]
			return i, ok
		case *ast.SelectorExpr:
			if id, ok := fn.X.(*ast.Ident); ok && importsName(f, id.Name) {
				i, ok := funcs[id.Name+"."+fn.Sel.Name]
				return i, ok
			}
			i, ok := methods[fn.Sel.Name]
			return i, ok
		}
		return 0, false
	}
	isReasonName := func(name string) bool { return strings.Contains(strings.ToLower(name), "reason") }
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.KeyValueExpr:
				if id, ok := x.Key.(*ast.Ident); ok && id.Name == "Reason" {
					add(x.Value)
				}
			case *ast.AssignStmt:
				for i, lhs := range x.Lhs {
					if i >= len(x.Rhs) {
						break
					}
					switch l := lhs.(type) {
					case *ast.SelectorExpr:
						if l.Sel.Name == "Reason" {
							add(x.Rhs[i])
						}
					case *ast.Ident:
						if isReasonName(l.Name) {
							add(x.Rhs[i])
						}
					}
				}
			case *ast.ValueSpec:
				for i, nm := range x.Names {
					if isReasonName(nm.Name) && i < len(x.Values) {
						add(x.Values[i])
					}
				}
			case *ast.CallExpr:
				if i, ok := reasonArg(f, x); ok && i < len(x.Args) {
					add(x.Args[i])
				}
			}
			return true
		})
	}
	return codes
}

// importsName reports whether name is a package f imports (by its last
// path element or its alias), as opposed to a variable.
func importsName(f *ast.File, name string) bool {
	for _, im := range f.Imports {
		if im.Name != nil {
			if im.Name.Name == name {
				return true
			}
			continue
		}
		p, _ := strconv.Unquote(im.Path.Value)
		if p[strings.LastIndexByte(p, '/')+1:] == name {
			return true
		}
	}
	return false
}

var codeRe = regexp.MustCompile(`^[A-Z][A-Za-z0-9]+$`)

// documentedCodes returns the codes docs/diagnostics.md has a "### Code"
// section for.
func documentedCodes(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", "diagnostics.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^### `?([A-Za-z0-9]+)`?\\s*$").FindAllStringSubmatch(string(data), -1) {
		out[m[1]] = true
	}
	return out
}

// TestEveryCodeIsDocumented fails when code emits a diagnostic code that
// docs/diagnostics.md does not explain.
func TestEveryCodeIsDocumented(t *testing.T) {
	codes := reasonCodes(t)
	// Guard against a scanner that silently finds nothing.
	for _, c := range []string{"ManifestParseError", "TLSSecretNotFound", "AnnotationPrefixIgnored", ReasonNoManifests, "TLSKeyMismatch", "CanaryNotEnabled", "AuthTLSSecretInvalid"} {
		if _, ok := codes[c]; !ok {
			t.Errorf("the source scan did not find %s; reasonCodes needs fixing", c)
		}
	}
	docs := documentedCodes(t)
	var missing []string
	for c, where := range codes {
		if !docs[c] {
			missing = append(missing, c+" (used at "+where[0]+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("diagnostic code %s is not documented in docs/diagnostics.md: add a ### section", m)
	}
	var stale []string
	for c := range docs {
		if _, ok := codes[c]; !ok {
			stale = append(stale, c)
		}
	}
	sort.Strings(stale)
	// Only logged: a code documented just before its emitter is merged
	// (or just after it is removed) is harmless, a missing one is not.
	for _, c := range stale {
		t.Logf("docs/diagnostics.md documents %s, which no code emits", c)
	}
}
