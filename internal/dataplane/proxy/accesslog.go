package proxy

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// logBuffers recycles access-log line buffers; lines are built by hand
// (no encoding/json, no fmt) so logging a request does not allocate.
var logBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeAccessLog writes one JSON line:
//
//	{"time":…,"client":…,"host":…,"method":…,"path":…,"status":…,"bytes":…,
//	 "duration_ms":…,"upstream":…,"ingress":"ns/name","service":"ns/svc","request_id":…}
func (h *Handler) writeAccessLog(st *reqState, r *http.Request, start time.Time, status int, d time.Duration) {
	bp := logBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	b = append(b, `{"time":"`...)
	b = start.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	client, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		client = r.RemoteAddr
	}
	b = append(b, `","client":`...)
	b = appendJSONString(b, client)
	b = append(b, `,"host":`...)
	b = appendJSONString(b, r.Host)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, r.URL.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, st.rw.bytes, 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, float64(d.Microseconds())/1000, 'f', 3, 64)
	b = append(b, `,"upstream":`...)
	if st.ep != nil {
		b = appendJSONString(b, st.ep.Address)
	} else {
		b = append(b, `""`...)
	}
	b = append(b, `,"ingress":`...)
	b = appendRef(b, st, false)
	b = append(b, `,"service":`...)
	b = appendRef(b, st, true)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, st.reqID)
	b = append(b, "}\n"...)
	if _, err := h.accessLog.Write(b); err != nil {
		h.accessLogFailed(err) // a failing log sink must not fail requests
	}
	*bp = b
	logBuffers.Put(bp)
}

// appendRef appends "namespace/name" of the route's Ingress or Service as
// a JSON string, or "" when there is none.
func appendRef(b []byte, st *reqState, service bool) []byte {
	if st.rt == nil {
		return append(b, `""`...)
	}
	src := &st.rt.Source
	name := src.Ingress
	if service {
		name = src.Service
	}
	if name == "" {
		return append(b, `""`...)
	}
	b = append(b, '"')
	b = appendJSONContent(b, src.Namespace)
	b = append(b, '/')
	b = appendJSONContent(b, name)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONContent(b, s)
	return append(b, '"')
}

// appendJSONContent appends s escaped for inside a JSON string. Invalid
// UTF-8 becomes U+FFFD so a client cannot break the line format.
func appendJSONContent(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// accessLogFailed counts a failed access-log write and reports the first
// one (a full disk would otherwise make a log line per request).
func (h *Handler) accessLogFailed(err error) {
	h.metrics.AccessLogError()
	if h.logFailed.CompareAndSwap(false, true) {
		h.logger.Warn("writing the access log failed; its lines are lost until it works again, and each failure is counted in moat_access_log_write_errors_total",
			"error", err)
	}
}
