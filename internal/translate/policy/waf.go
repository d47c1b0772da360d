package policy

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/moat-ingress/moat/internal/annotations"
	"github.com/moat-ingress/moat/internal/annotations/modsecurity"
	"github.com/moat-ingress/moat/internal/diag"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/store"
	"github.com/moat-ingress/moat/internal/waf"
)

// wafState is the Extractor's memo of the ConfigMap's part of the WAF.
type wafState struct {
	checked bool
	// globalErr is why the ConfigMap's modsecurity-snippet (or its rule
	// set) is refused; every WAF route is then denied.
	globalErr error
}

func (t *Extractor) wafCache() *waf.Cache {
	if t.Opts.WAF == nil {
		t.Opts.WAF = waf.NewCache()
	}
	return t.Opts.WAF
}

func (t *Extractor) wafGlobal() waf.Global {
	return waf.Global{Enabled: t.Ctrl.EnableModsecurity, CRS: t.Ctrl.EnableOWASPCoreRules, Snippet: t.Ctrl.ModsecuritySnippet}
}

// wafGlobalErr vets and compiles the ConfigMap's rule set once per
// translate. A broken one fails every WAF location closed (503): the
// rules are access control, and serving without them would open what
// they close; other routes serve on. (nginx would refuse the reload and
// keep the last good configuration everywhere.)
func (t *Extractor) wafGlobalErr() error {
	if t.waf.checked {
		return t.waf.globalErr
	}
	t.waf.checked = true
	g := t.wafGlobal()
	if !g.Enabled {
		return nil
	}
	if err := waf.Vet(g.Snippet); err != nil {
		t.waf.globalErr = err
		return err
	}
	text, err := waf.Compose(g, waf.Location{})
	if err == nil {
		_, err = t.wafCache().Compile(text)
	}
	t.waf.globalErr = err
	return err
}

// CheckWAFGlobal reports a refused ConfigMap modsecurity-snippet (full
// translates only: the diagnostic names the ConfigMap).
func (t *Extractor) CheckWAFGlobal() {
	if !t.Ctrl.EnableModsecurity {
		return
	}
	ref := diag.ObjectRef{Kind: store.KindConfigMap, Name: t.Opts.ConfigMap}
	if ns, n, ok := strings.Cut(t.Opts.ConfigMap, "/"); ok {
		ref = t.Snapshot.Ref(store.KindConfigMap, ns, n)
	}
	err := t.wafGlobalErr()
	if err == nil {
		t.Add(diag.Diagnostic{Object: ref, Severity: diag.Info, Reason: "ModSecurityDiffers", Field: "data.enable-modsecurity", Message: wafDiffers})
		return
	}
	t.Add(diag.Diagnostic{Object: ref, Severity: diag.Error, Reason: "ModSecuritySnippetRefused", Field: "data.modsecurity-snippet",
		Message: fmt.Sprintf("modsecurity-snippet is refused: %v; every location with the WAF answers 503 until it is fixed, the others serve on", err)})
}

// wafPolicy builds a route's WAF from the ConfigMap and the Ingress's
// annotations. A refused or broken rule set denies the Ingress's paths
// (503) through deny, as a refused configuration-snippet does.
func (t *Extractor) wafPolicy(r *annotations.Reader, ing *networkingv1.Ingress, deny func(string)) *routecfg.WAF {
	c := modsecurity.Parse(r)
	g := t.wafGlobal()
	loc := waf.Location{Enable: c.Enable, EnableSet: c.EnableSet, CRS: c.CRS, Snippet: c.Snippet}
	if !g.Enabled && !loc.Enable || loc.EnableSet && !loc.Enable {
		return nil
	}
	if err := t.wafGlobalErr(); err != nil {
		deny("controller ConfigMap modsecurity-snippet refused")
		return nil
	}
	key := ""
	err := waf.Vet(c.Snippet)
	if err != nil {
		key = "modsecurity-snippet"
	}
	var e *waf.Engine
	if err == nil {
		var text string
		text, err = waf.Compose(g, loc)
		if err == nil {
			e, err = t.wafCache().Compile(text)
		}
		key = "modsecurity-snippet"
		if c.Snippet == "" {
			key = "enable-owasp-core-rules"
		}
	}
	if err != nil {
		t.AnnDiag(r, key, diag.Error, "ModSecuritySnippetRefused",
			fmt.Sprintf("the WAF rules are refused: %v; the Ingress's paths answer 503 until this is fixed, other Ingresses serve on", err))
		deny("modsecurity rules refused")
		return nil
	}
	if loc.Enable {
		t.AnnDiag(r, "enable-modsecurity", diag.Info, "ModSecurityDiffers", wafDiffers)
	}
	return &routecfg.WAF{Engine: e, TransactionID: c.TransactionID}
}

// wafDiffers is what moat's WAF does not do as ingress-nginx's
// ModSecurity does, said where it is enabled (moat lint shows it).
const wafDiffers = "the WAF runs on Coraza: response bodies are not inspected (phase 4 rules, such as the Core Rule Set's data-leakage rules, do not run; moat streams responses), audit records are written only where a snippet sets SecAuditLog /dev/stdout or /dev/stderr (ingress-nginx writes files under /var/log/audit), matched rules are logged by moat, and rules need Go (RE2) regular expressions"
