package proxy

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/corazawaf/coraza/v3/types"

	"github.com/moat-ingress/moat/internal/dataplane/proxy/vars"
	"github.com/moat-ingress/moat/internal/waf"
)

// wafReq is a request's WAF transaction, open from the request headers
// to the end of the exchange (the logging phase runs in finish).
type wafReq struct {
	tx  types.Transaction
	key string
}

// maxLoggedMatches bounds the log lines one request may cause.
const maxLoggedMatches = 8

// applyWAF runs the route's rules on the request before anything is sent
// upstream, as ModSecurity-nginx does in nginx's rewrite and pre-access
// phases: connection, URI and headers (phase 1), then the body (phase
// 2), held in memory up to SecRequestBodyLimit and sent on afterwards. It
// returns true when it answered: the rule's status (403 by default) on an
// interruption; nothing reaches the upstream then.
func (h *Handler) applyWAF(st *reqState, r *http.Request) bool {
	w := st.rt.Policy.WAF
	id := st.reqID
	if !w.TransactionID.IsZero() {
		id = string(h.expand(nil, w.TransactionID, st, r))
	}
	tx := w.Engine.WAF.NewTransactionWithID(id)
	st.waf = wafReq{tx: tx, key: w.Engine.Key}
	if tx.IsRuleEngineOff() {
		return false
	}
	client := st.remoteAddr(r)
	_, cport, _ := net.SplitHostPort(r.RemoteAddr)
	cp, _ := strconv.Atoi(cport)
	saddr, sp := "", 0
	if a := st.localAddr(); a != nil {
		if host, port, err := net.SplitHostPort(a.String()); err == nil {
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
		return h.wafAnswer(st, r, it)
	}
	if tx.IsRequestBodyAccessible() && r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		it, _, err := tx.ReadRequestBodyFrom(r.Body)
		if err != nil || clientBodyErr(st) {
			if st.body.err == nil {
				st.body.err = err
			}
			h.clientBodyFailed(st, r)
			return true
		}
		if it != nil {
			return h.wafAnswer(st, r, it)
		}
		held, err := tx.RequestBodyReader()
		if err != nil {
			h.logger.Warn("waf: request body", "error", err, "request_id", st.reqID)
			h.local(st, http.StatusInternalServerError)
			return true
		}
		// What the rules saw, then whatever a partial inspection
		// (SecRequestBodyLimitAction ProcessPartial) left unread.
		r.Body = bodyAfterWAF{Reader: io.MultiReader(held, r.Body), c: r.Body}
	}
	it, err := tx.ProcessRequestBody()
	if err != nil {
		h.logger.Warn("waf: request body", "error", err, "request_id", st.reqID)
	}
	if it != nil {
		return h.wafAnswer(st, r, it)
	}
	return false
}

type bodyAfterWAF struct {
	io.Reader
	c io.Closer
}

func (b bodyAfterWAF) Close() error { return b.c.Close() }

// wafAnswer answers an interrupted request: deny with the rule's status
// (403 without one), redirect with its Location, drop with 403 and the
// connection closed.
func (h *Handler) wafAnswer(st *reqState, r *http.Request, it *types.Interruption) bool {
	code := waf.Status(it)
	switch it.Action {
	case "redirect":
		if it.Data != "" && code >= 300 && code < 400 {
			h.redirect(st, code, it.Data)
			return true
		}
	case "drop":
		closeAfter(&st.rw)
	}
	if code < 100 || code > 999 {
		code = http.StatusForbidden
	}
	h.local(st, code)
	return true
}

// wafResponse runs the response-header phase (3) on the upstream's
// answer; an interruption replaces the response with the rule's status.
// Response bodies are not inspected (phase 4): moat streams them.
func (h *Handler) wafResponse(st *reqState, res *http.Response) {
	tx := st.waf.tx
	if tx == nil || tx.IsRuleEngineOff() || tx.IsInterrupted() {
		return
	}
	for k, vs := range res.Header {
		for _, v := range vs {
			tx.AddResponseHeader(k, v)
		}
	}
	it := tx.ProcessResponseHeaders(res.StatusCode, res.Proto)
	if it == nil {
		return
	}
	code := waf.Status(it)
	if code < 100 || code > 999 || it.Action == "redirect" {
		code = http.StatusForbidden
	}
	body := statusBody(code)
	res.Body.Close()
	res.StatusCode, res.Status = code, strconv.Itoa(code)+" "+http.StatusText(code)
	res.Header = http.Header{"Content-Type": valTextPlain, "X-Content-Type-Options": valNoSniff, "Content-Length": {strconv.Itoa(len(body))}}
	res.ContentLength = int64(len(body))
	res.Body = io.NopCloser(strings.NewReader(string(body)))
	res.TransferEncoding = nil
}

// wafFinish runs the logging phase, logs the rules that matched with a
// message (ModSecurity-nginx writes them to nginx's error log) and ends
// the transaction.
func (h *Handler) wafFinish(st *reqState, r *http.Request, status int) {
	tx := st.waf.tx
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
			h.logger.LogAttrs(r.Context(), slog.LevelWarn, "waf rule matched",
				slog.Int("rule", m.Rule().ID()), slog.String("msg", m.Message()), slog.String("data", clipLog(m.Data())),
				slog.Bool("disruptive", m.Disruptive()), slog.Int("status", status),
				slog.String("transaction_id", tx.ID()), slog.String("rules", st.waf.key),
				slog.String("host", r.Host), slog.String("uri", clipLog(r.RequestURI)), slog.String("client", m.ClientIPAddress()),
				slog.String("namespace", st.rt.Source.Namespace), slog.String("ingress", st.rt.Source.Ingress))
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
