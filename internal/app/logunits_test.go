package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestLogDurationsInMilliseconds keeps one unit and one naming for every
// duration in moat's logs: the attribute key ends in _ms and the value is
// a number of milliseconds (float64(d.Microseconds())/1000). slog renders
// a time.Duration as nanoseconds in JSON and as "1.5ms" in text, so a raw
// Duration, or a key in seconds or without a unit, mixes units in one log
// stream. It reads every slog call in cmd/ and internal/ by syntax.
func TestLogDurationsInMilliseconds(t *testing.T) {
	const root = "../.."
	logMethods := map[string]bool{"Debug": true, "Info": true, "Warn": true, "Error": true, "Log": true}
	unitKey := regexp.MustCompile(`(^|_)(duration|elapsed|took|latency|wait(ed)?|age|delay|timeout)$|_(s|ns|us|sec|secs|seconds)$`)
	fset := token.NewFileSet()
	var bad []string
	checked := 0
	for _, dir := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Logf("skipping %s: %v", p, err)
				return nil
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !logMethods[sel.Sel.Name] || !strings.Contains(strings.ToLower(exprString(sel.X)), "log") {
					return true
				}
				// Key-value pairs follow the message (Log: ctx, level, msg).
				args := call.Args
				skip := 1
				if sel.Sel.Name == "Log" {
					skip = 3
				}
				if len(args) <= skip {
					return true
				}
				args = args[skip:]
				for i := 0; i+1 < len(args); i += 2 {
					lit, ok := args[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						break // an slog.Attr or a computed key: pairs no longer line up
					}
					key, _ := strconv.Unquote(lit.Value)
					checked++
					val := exprString(args[i+1])
					pos := fset.Position(lit.Pos())
					switch {
					case unitKey.MatchString(key):
						bad = append(bad, pos.String()+": key "+strconv.Quote(key)+" (durations are *_ms)")
					case strings.HasSuffix(key, "_ms") && !strings.Contains(val, "Microseconds()) / 1000"):
						bad = append(bad, pos.String()+": "+key+" = "+val+" (want float64(d.Microseconds())/1000)")
					case strings.Contains(val, "time.Since(") && !strings.HasSuffix(key, "_ms"):
						bad = append(bad, pos.String()+": "+key+" = "+val+" (a raw time.Duration)")
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 20 {
		t.Fatalf("found only %d log attributes: the scan is broken", checked)
	}
	for _, b := range bad {
		t.Error(b)
	}
}

// exprString prints a small expression back as Go source, spaced as
// gofmt spaces binary operators.
func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.BasicLit:
		return x.Value
	case *ast.SelectorExpr:
		return exprString(x.X) + "." + x.Sel.Name
	case *ast.CallExpr:
		args := make([]string, len(x.Args))
		for i, a := range x.Args {
			args[i] = exprString(a)
		}
		return exprString(x.Fun) + "(" + strings.Join(args, ", ") + ")"
	case *ast.BinaryExpr:
		return exprString(x.X) + " " + x.Op.String() + " " + exprString(x.Y)
	case *ast.ParenExpr:
		return "(" + exprString(x.X) + ")"
	case *ast.IndexExpr:
		return exprString(x.X) + "[" + exprString(x.Index) + "]"
	case *ast.StarExpr:
		return "*" + exprString(x.X)
	case *ast.UnaryExpr:
		return x.Op.String() + exprString(x.X)
	}
	return "?"
}
