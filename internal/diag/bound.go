package diag

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/moat-ingress/moat/internal/redact"
)

// MaxValue is the longest quoted value a diagnostic repeats: a 10 MB
// annotation made a 10 MB log line, Event and /debug/diagnostics.
// maxText bounds a whole message or hint whose long part is not quoted.
const (
	MaxValue = 256
	maxText  = 4096
	maxName  = 512
)

// Bound returns ds with every diagnostic bounded (see Diagnostic.Bound).
// It returns ds itself when none needs changing, so that an unchanged
// list stays the same slice for those who compare lists by identity.
func Bound(ds []Diagnostic) []Diagnostic {
	for i := range ds {
		b := ds[i].Bound()
		if b == ds[i] {
			continue
		}
		out := make([]Diagnostic, len(ds))
		copy(out, ds[:i])
		out[i] = b
		for j := i + 1; j < len(ds); j++ {
			out[j] = ds[j].Bound()
		}
		return out
	}
	return ds
}

// Bound returns d as it may be shown: each quoted value in its message or
// hint cut to MaxValue bytes with an ellipsis and the value's length, the
// whole text to a few KiB, names and field paths to maxName, and the
// password of any URL replaced (an auth-url may carry "user:pass@").
// Diagnostics are built at hundreds of call sites; they all leave through
// the reconcile loop and lint, which call this, so no call site has to.
func (d Diagnostic) Bound() Diagnostic {
	d.Message = boundText(d.Message)
	d.Hint = boundText(d.Hint)
	d.Field = cut(d.Field, maxName)
	d.Object.Kind = cut(d.Object.Kind, maxName)
	d.Object.Namespace = cut(d.Object.Namespace, maxName)
	d.Object.Name = cut(d.Object.Name, maxName)
	d.Object.File = cut(d.Object.File, maxText)
	return d
}

func boundText(s string) string {
	if len(s) > MaxValue && strings.IndexByte(s, '"') >= 0 {
		s = cutQuoted(s)
	}
	return cut(redact.URLs(s), maxText)
}

// cutQuoted cuts each double-quoted span (Go %q or plain quotes) longer
// than MaxValue.
func cutQuoted(s string) string {
	var b strings.Builder
	i := 0
	for {
		open := strings.IndexByte(s[i:], '"')
		if open < 0 {
			break
		}
		open += i
		end := open + 1
		for end < len(s) && s[end] != '"' {
			if s[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(s) {
			break // unterminated: cut() bounds the whole text
		}
		if end-open-1 <= MaxValue {
			b.WriteString(s[i : end+1])
			i = end + 1
			continue
		}
		b.WriteString(s[i:open])
		span := s[open : end+1]
		if v, err := strconv.Unquote(span); err == nil {
			b.WriteString(strconv.Quote(v[:runeStart(v, MaxValue)] + "…"))
			b.WriteString(" (" + strconv.Itoa(len(v)) + " bytes)")
		} else {
			inner := span[1 : len(span)-1]
			k := runeStart(inner, MaxValue)
			for k > 0 && inner[k-1] == '\\' {
				k--
			}
			b.WriteString(`"` + inner[:k] + `…" (` + strconv.Itoa(len(inner)) + " bytes)")
		}
		i = end + 1
	}
	if i == 0 {
		return s
	}
	b.WriteString(s[i:])
	return b.String()
}

// cut bounds s to n bytes, saying how long it was.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:runeStart(s, n)] + "… (" + strconv.Itoa(len(s)) + " bytes)"
}

// runeStart returns the largest i <= n that does not split a UTF-8
// sequence of s.
func runeStart(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}
