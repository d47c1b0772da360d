package metrics

import (
	"strings"
	"time"

	"github.com/moat-ingress/moat/internal/routecfg"
)

// ConfigApplied records one apply of a configuration to the data plane,
// as ingress-nginx records a reload: success or errors counts it,
// config_last_reload_successful says how it went and, on success, its
// timestamp is now. config_hash is a number that changes with every
// successful apply (moat has no rendered nginx.conf to hash) and, as in
// ingress-nginx, 0 after a failure.
func (m *Metrics) ConfigApplied(ok bool, now time.Time) {
	if m == nil {
		return
	}
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	if !ok {
		m.reloadErrors.Inc()
		m.configOK.Set(0)
		m.configHash.Set(0)
		return
	}
	m.applies++
	m.reloads.Inc()
	m.configOK.Set(1)
	m.configHash.Set(float64(m.applies))
	m.configOKTime.Set(float64(now.Unix()))
}

// SetCertificates replaces the certificate expiry series with one per
// virtual host (including the catch-all) that names a certificate present
// in cfg, or that has TLS and falls back to cfg's DefaultCertificate,
// valued at the leaf's NotAfter.
func (m *Metrics) SetCertificates(cfg *routecfg.Config) {
	if m == nil || cfg == nil {
		return
	}
	// Reset and refill must not interleave with another apply.
	m.certExpiryLock.Lock()
	defer m.certExpiryLock.Unlock()
	m.certExpiry.Reset()
	for _, vh := range cfg.VirtualHosts {
		m.setCertExpiry(cfg, vh)
	}
	m.setCertExpiry(cfg, cfg.CatchAll)
}

// SetCertificateHosts updates only the gauges of hosts that changed from
// prev to cfg (before[i] became after[i]; either may be nil), for an apply
// whose certificates, default certificate and catch-all did not change:
// at 10,000 hosts a full refill was a quarter of a TLS Ingress change's
// CPU. Host names must be unique in each config (the gauge's host label
// is the name).
func (m *Metrics) SetCertificateHosts(prev, cfg *routecfg.Config, before, after []*routecfg.VirtualHost) {
	if m == nil || cfg == nil {
		return
	}
	m.certExpiryLock.Lock()
	defer m.certExpiryLock.Unlock()
	for _, vh := range before {
		if c := servedCert(prev, vh); c != nil {
			m.certExpiry.DeleteLabelValues(m.certLabels(c, vh)...)
		}
	}
	for _, vh := range after {
		m.setCertExpiry(cfg, vh)
	}
}

func (m *Metrics) setCertExpiry(cfg *routecfg.Config, vh *routecfg.VirtualHost) {
	if c := servedCert(cfg, vh); c != nil {
		m.certExpiry.WithLabelValues(m.certLabels(c, vh)...).Set(float64(c.Cert.Leaf.NotAfter.Unix()))
	}
}

// certLabels are ssl_expire_time_seconds's namespace (the Secret's),
// class, host, secret_name and identifier (ingress-nginx's
// SSLCert.Identifier: the issuer's serialNumber attribute, "-", the
// certificate's serial number).
func (m *Metrics) certLabels(c *routecfg.Certificate, vh *routecfg.VirtualHost) []string {
	ns, name, ok := strings.Cut(c.Ref, "/")
	if !ok {
		ns, name = "", c.Ref
	}
	id := ""
	if leaf := c.Cert.Leaf; leaf.SerialNumber != nil {
		id = leaf.Issuer.SerialNumber + "-" + leaf.SerialNumber.String()
	}
	return []string{ns, m.opts.Class, HostLabel(vh), name, id}
}

// servedCert is the certificate vh is served with in cfg, nil if none or
// not parsed.
func servedCert(cfg *routecfg.Config, vh *routecfg.VirtualHost) *routecfg.Certificate {
	if vh == nil || cfg == nil {
		return nil
	}
	c := cfg.Certificates[vh.Certificate]
	if vh.Certificate == "" && vh.TLS {
		// A TLS host that fell back is served the
		// --default-ssl-certificate Secret, when there is one.
		c = cfg.DefaultCertificate
	}
	if c == nil || c.Cert == nil || c.Cert.Leaf == nil {
		return nil
	}
	return c
}
