package annotations

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moat-ingress/moat/internal/routecfg/vartemplate"
)

// ParseTemplate splits an annotation value that may use nginx request
// variables ($host, ${request_uri}) into literals and variables from the
// closed set vartemplate.Vars. Any other variable is an error: moat
// never hands user strings to a configuration language.
func ParseTemplate(s string) (vartemplate.Template, error) {
	return ParseTemplateVars(s, vartemplate.Vars)
}

// ParseTemplateVars is ParseTemplate with another closed set of variables
// (e.g. vartemplate.FastCGIVars).
func ParseTemplateVars(s string, vars []string) (vartemplate.Template, error) {
	var t vartemplate.Template
	lit := strings.Builder{}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			lit.WriteByte(c)
			continue
		}
		var name string
		j := i + 1
		if j < len(s) && s[j] == '{' {
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed ${ at offset %d", i)
			}
			name = s[j+1 : j+end]
			i = j + end
		} else {
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			name = s[i+1 : j]
			i = j - 1
		}
		if name == "" {
			return nil, fmt.Errorf("a lone $ at offset %d", i)
		}
		if !slices.Contains(vars, name) {
			return nil, fmt.Errorf("variable $%s is not supported (moat knows $%s)", name, strings.Join(vars, ", $"))
		}
		if lit.Len() > 0 {
			t = append(t, vartemplate.Part{Literal: lit.String()})
			lit.Reset()
		}
		t = append(t, vartemplate.Part{Var: name})
	}
	if lit.Len() > 0 {
		t = append(t, vartemplate.Part{Literal: lit.String()})
	}
	return t, nil
}

// ValidHeaderValue reports a value that can be sent as is: visible ASCII,
// spaces and tabs, no control characters.
func ValidHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
