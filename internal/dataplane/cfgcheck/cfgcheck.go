// Package cfgcheck validates a routecfg.Config before the data plane
// serves it: everything the proxy, the TLS front and the Gateway sockets
// rely on (no nil entries, every route's pool and every host's
// certificate present, regexes compiled, header values that can be
// sent, sane numbers). translate produces valid configs; this guards the
// swap against a bug there.
package cfgcheck

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"

	"github.com/moat-ingress/moat/internal/dataplane/proxy"
	"github.com/moat-ingress/moat/internal/dataplane/router"
	"github.com/moat-ingress/moat/internal/routecfg"
	"golang.org/x/net/http/httpguts"
)

// maxErrors bounds the errors Validate reports; the first few name the
// bug, thousands would only flood the log.
const maxErrors = 20

// Validate checks everything the data plane relies on in cfg: no nil
// entries, every route's pool and every host's certificate present,
// regexes compiled, header values that can be sent. translate produces
// valid configs; this guards the swap against a bug there.
func Validate(cfg *routecfg.Config) error {
	if cfg == nil {
		return errors.New("config is nil")
	}
	var errs []error
	add := func(format string, args ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	for key, c := range cfg.Certificates {
		if err := checkCert(c); err != nil {
			add("certificate %q: %v", key, err)
		} else if c.Ref != key {
			add("certificate %q: Ref is %q", key, c.Ref)
		}
	}
	if c := cfg.DefaultCertificate; c != nil {
		if err := checkCert(c); err != nil {
			add("default certificate %q: %v", c.Ref, err)
		}
	}
	for key, p := range cfg.Pools {
		if p == nil {
			add("pool %q: nil", key)
			continue
		}
		if p.Key != key {
			add("pool %q: Key is %q", key, p.Key)
		}
		validatePoolTLS(key, p, add)
		for _, e := range p.Endpoints {
			if _, port, err := net.SplitHostPort(e.Address); err != nil || port == "" {
				add("pool %q: endpoint address %q is not host:port", key, e.Address)
			}
		}
	}
	seen := make(map[string]bool, len(cfg.VirtualHosts))
	for i, vh := range cfg.VirtualHosts {
		if vh == nil {
			add("virtual host #%d: nil", i)
			continue
		}
		if vh.Host == "" {
			add("virtual host #%d: empty host (only the catch-all has none)", i)
		}
		h := strings.ToLower(vh.Host)
		if seen[h] {
			add("virtual host %q: listed twice", vh.Host)
		}
		seen[h] = true
		validateVHost(cfg, vh, add)
	}
	if cfg.CatchAll != nil {
		validateVHost(cfg, cfg.CatchAll, add)
	}
	validateServerTLS(cfg.ServerTLS, add)
	if err := validateListeners(cfg); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// From is Validate(cfg) for a cfg compiled into table, knowing
// that cur (served, so valid) holds the same pools, certificates and TLS
// policy: then only the hosts cur does not serve as they are need checking,
// and a duplicate host shows as fewer hosts in table. Otherwise, or when
// in doubt, it is Validate.
func From(cur *proxy.Snapshot, table *router.Table, cfg *routecfg.Config) error {
	prev := cur.Config
	if cfg == nil || table == nil || prev == nil || cfg.DefaultCertificate != prev.DefaultCertificate || cfg.ServerTLS != prev.ServerTLS ||
		!SamePools(prev.Pools, cfg.Pools) || !SameCerts(prev.Certificates, cfg.Certificates) {
		return Validate(cfg)
	}
	hosts := 0
	for _, vh := range cfg.VirtualHosts {
		if vh == nil || vh.Host == "" {
			return Validate(cfg)
		}
		hosts++
	}
	if table.Hosts() != hosts {
		return Validate(cfg) // a host listed twice, or an odd spelling
	}
	var errs []error
	add := func(format string, args ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	// A host of the served config was valid with the same pools and
	// certificates. Both lists are sorted by host when translate made
	// them, so one walk finds most; the table is asked for the rest.
	pv, i := prev.VirtualHosts, 0
	for _, vh := range cfg.VirtualHosts {
		for i < len(pv) && pv[i] != nil && pv[i].Host < vh.Host {
			i++
		}
		if i < len(pv) && pv[i] == vh {
			i++
			continue
		}
		if !cur.Table.Compiled(vh) {
			validateVHost(cfg, vh, add)
		}
	}
	if cfg.CatchAll != nil && cfg.CatchAll != prev.CatchAll {
		validateVHost(cfg, cfg.CatchAll, add)
	}
	if err := validateListeners(cfg); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// SameCerts reports whether a and b hold the same *Certificate under each
// key.
func SameCerts(a, b map[string]*routecfg.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	if sameMap(a, b) {
		return true
	}
	for k, c := range b {
		if q, ok := a[k]; !ok || q != c {
			return false
		}
	}
	return true
}

func validateVHost(cfg *routecfg.Config, vh *routecfg.VirtualHost, add func(string, ...any)) {
	name := vh.Host
	if name == "" {
		name = "_" // the catch-all
	}
	if vh.Certificate != "" {
		if _, ok := cfg.Certificates[vh.Certificate]; !ok {
			add("host %q: certificate %q not in config", name, vh.Certificate)
		}
	}
	validateTLS(cfg, vh, name, add)
	if vh.HSTS != "" && !httpguts.ValidHeaderFieldValue(vh.HSTS) {
		add("host %q: HSTS value %q is not a valid header value", name, vh.HSTS)
	}
	for i, rt := range vh.Routes {
		if rt == nil {
			add("host %q: route #%d: nil", name, i)
			continue
		}
		// Named only when needed: formatting it for each of 10,000
		// valid routes was a tenth of an Apply.
		where := func() string {
			w := fmt.Sprintf("host %q route %q", name, rt.Path)
			if rt.Source.Ingress != "" {
				w += fmt.Sprintf(" (ingress %s/%s)", rt.Source.Namespace, rt.Source.Ingress)
			}
			return w
		}
		switch rt.Match {
		case routecfg.MatchExact, routecfg.MatchPrefix:
		case routecfg.MatchRegex:
			if rt.Regex == nil {
				add("%s: Regex match without a compiled regex", where())
			}
		default:
			add("%s: unknown match kind %d", where(), rt.Match)
		}
		if rt.Rewrite != nil && rt.Rewrite.Pattern == nil {
			add("%s: rewrite without a compiled pattern", where())
		}
		if rt.Policy != nil {
			validateTraffic(cfg, rt, where(), add)
		}
		if rt.Pool != "" {
			if cfg.Pools[rt.Pool] == nil {
				add("%s: pool %q not in config", where(), rt.Pool)
			}
		} else if rt.Status != 0 && (rt.Status < 200 || rt.Status > 599) {
			add("%s: status %d is not a final HTTP status", where(), rt.Status)
		}
		for _, be := range rt.Backends {
			switch {
			case be.Weight < 0:
				add("%s: backend weight %d is negative", where(), be.Weight)
			case be.Pool != "" && cfg.Pools[be.Pool] == nil:
				add("%s: pool %q not in config", where(), be.Pool)
			case be.Pool == "" && (be.Status < 200 || be.Status > 599):
				add("%s: backend status %d is not a final HTTP status", where(), be.Status)
			}
		}
		if rd := rt.URLRedirect; rd != nil && (rd.Code < 300 || rd.Code > 399) {
			add("%s: redirect code %d is not a 3xx", where(), rd.Code)
		}
	}
}

func checkCert(c *routecfg.Certificate) error {
	switch {
	case c == nil:
		return errors.New("nil")
	case c.Cert == nil || len(c.Cert.Certificate) == 0:
		return errors.New("no certificate")
	case c.Cert.PrivateKey == nil:
		return errors.New("no private key")
	case c.Cert.Leaf == nil:
		return errors.New("leaf certificate not parsed (Cert.Leaf is nil)")
	}
	return nil
}

// SamePools reports whether a and b hold the same *Pool under each key.
func SamePools(a, b map[string]*routecfg.Pool) bool {
	if len(a) != len(b) {
		return false
	}
	if sameMap(a, b) {
		return true
	}
	for k, p := range b {
		if q, ok := a[k]; !ok || q != p {
			return false
		}
	}
	return true
}

// sameMap reports whether a and b are one map (an incremental translate
// passes the last config's maps on when nothing in them changed).
func sameMap[M ~map[string]V, V any](a, b M) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
