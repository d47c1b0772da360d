// Package wafreq runs a route's WAF rules (package waf, Coraza) over one
// request as ModSecurity-nginx does: connection, URI and headers (phase
// 1) and the body (phase 2) before anything is sent upstream, the
// response headers (phase 3) on the upstream's answer, and the logging
// phase at the end. Response bodies are not inspected (phase 4): moat
// streams them. It answers nothing itself: the proxy acts on the
// Verdict.
package wafreq

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/corazawaf/coraza/v3/types"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
	"github.com/moat-ingress/moat/internal/routecfg"
	"github.com/moat-ingress/moat/internal/waf"
)

// Tx is a request's WAF transaction, open from the request headers to
// the end of the exchange (Finish). The zero value has none.
type Tx struct {
	tx  types.Transaction
	key string
}

// maxLoggedMatches bounds the log lines one request may cause.
const maxLoggedMatches = 8

// Active reports whether a transaction is open.
func (t *Tx) Active() bool { return t.tx != nil }

// Body is the client's request body as the proxy reads it
// (clientbody.Body).
type Body interface {
	Failed() bool
	Fail(error)
}

// Verdict is what the request phases decided. Status 0 lets the request
// on; otherwise it is the answer, a redirect to Location when set, with
// the connection closed after it when Drop. BodyFailed: reading the
// client's body failed (the proxy answers as for any client body
// failure).
type Verdict struct {
	Status     int
	Location   string
	Drop       bool
	BodyFailed bool
}

// Request opens the transaction with id and runs phases 1 and 2 on r,
// whose body is held in memory up to SecRequestBodyLimit and sent on
// afterwards. client is $remote_addr, server the address the client
// connected to (nil: unknown); body is the client's body, which knows
// whether its reads failed (and is told when the WAF's read failed).
func (t *Tx) Request(w *routecfg.WAF, id string, r *http.Request, client netip.Addr, server net.Addr, body Body, log *slog.Logger, reqID string) Verdict {
	tx := w.Engine.WAF.NewTransactionWithID(id)
	*t = Tx{tx: tx, key: w.Engine.Key}
	if tx.IsRuleEngineOff() {
		return Verdict{}
	}
	_, cport, _ := net.SplitHostPort(r.RemoteAddr)
	cp, _ := strconv.Atoi(cport)
	saddr, sp := "", 0
	if server != nil {
		if host, port, err := net.SplitHostPort(server.String()); err == nil {
			saddr = host
			sp, _ = strconv.Atoi(port)
		}
	}
	tx.ProcessConnection(client.String(), cp, saddr, sp)
	tx.ProcessURI(r.RequestURI, r.Method, r.Proto)
	for k, vs := range r.Header {
		for _, v := range vs {
			tx.AddRequestHeader(k, v)
		}
	}
	if r.Host != "" {
		tx.AddRequestHeader("Host", r.Host)
		tx.SetServerName(vars.HostWithoutPort(r.Host))
	}
	for _, te := range r.TransferEncoding {
		tx.AddRequestHeader("Transfer-Encoding", te)
	}
	if it := tx.ProcessRequestHeaders(); it != nil {
		return answer(it)
	}
	if tx.IsRequestBodyAccessible() && r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		it, _, err := tx.ReadRequestBodyFrom(r.Body)
		if err != nil || body.Failed() {
			body.Fail(err)
			return Verdict{BodyFailed: true}
		}
		if it != nil {
			return answer(it)
		}
		held, err := tx.RequestBodyReader()
		if err != nil {
			log.Warn("waf: request body", "error", err, "request_id", reqID)
			return Verdict{Status: http.StatusInternalServerError}
		}
		// What the rules saw, then whatever a partial inspection
		// (SecRequestBodyLimitAction ProcessPartial) left unread.
		r.Body = bodyAfterWAF{Reader: io.MultiReader(held, r.Body), c: r.Body}
	}
	it, err := tx.ProcessRequestBody()
	if err != nil {
		log.Warn("waf: request body", "error", err, "request_id", reqID)
	}
	if it != nil {
		return answer(it)
	}
	return Verdict{}
}

type bodyAfterWAF struct {
	io.Reader
	c io.Closer
}

func (b bodyAfterWAF) Close() error { return b.c.Close() }

// answer is the verdict on an interrupted request: deny with the rule's
// status (403 without one), redirect with its Location, drop with 403
// and the connection closed.
func answer(it *types.Interruption) Verdict {
	code := waf.Status(it)
	var v Verdict
	switch it.Action {
	case "redirect":
		if it.Data != "" && code >= 300 && code < 400 {
			return Verdict{Status: code, Location: it.Data}
		}
	case "drop":
		v.Drop = true
	}
	if code < 100 || code > 999 {
		code = http.StatusForbidden
	}
	v.Status = code
	return v
}

// Response runs the response-header phase (3) on the upstream's answer:
// the status to answer instead on an interruption, else 0.
func (t *Tx) Response(res *http.Response) int {
	tx := t.tx
	if tx == nil || tx.IsRuleEngineOff() || tx.IsInterrupted() {
		return 0
	}
	for k, vs := range res.Header {
		for _, v := range vs {
			tx.AddResponseHeader(k, v)
		}
	}
	it := tx.ProcessResponseHeaders(res.StatusCode, res.Proto)
	if it == nil {
		return 0
	}
	code := waf.Status(it)
	if code < 100 || code > 999 || it.Action == "redirect" {
		code = http.StatusForbidden
	}
	return code
}

// Finish runs the logging phase, logs the rules that matched with a
// message (ModSecurity-nginx writes them to nginx's error log) and ends
// the transaction; rt is the request's route.
func (t *Tx) Finish(log *slog.Logger, r *http.Request, rt *routecfg.Route, status int) {
	tx := t.tx
	if !tx.IsRuleEngineOff() {
		tx.ProcessLogging()
		n := 0
		for _, m := range tx.MatchedRules() {
			if m.Message() == "" {
				continue
			}
			if n++; n > maxLoggedMatches {
				break
			}
			log.LogAttrs(r.Context(), slog.LevelWarn, "waf rule matched",
				slog.Int("rule", m.Rule().ID()), slog.String("msg", m.Message()), slog.String("data", clipLog(m.Data())),
				slog.Bool("disruptive", m.Disruptive()), slog.Int("status", status),
				slog.String("transaction_id", tx.ID()), slog.String("rules", t.key),
				slog.String("host", r.Host), slog.String("uri", clipLog(r.RequestURI)), slog.String("client", m.ClientIPAddress()),
				slog.String("namespace", rt.Source.Namespace), slog.String("ingress", rt.Source.Ingress))
		}
	}
	_ = tx.Close()
}

func clipLog(s string) string {
	if len(s) > 256 {
		return s[:253] + "..."
	}
	return s
}
