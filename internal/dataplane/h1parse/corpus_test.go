package h1parse

import "strings"

// corpusCase is one connection's bytes for the differential test and a fuzz seed.
type corpusCase struct{ name, raw string }

const browserRequest = "GET /assets/app.js?v=3 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"Connection: keep-alive\r\n" +
	"sec-ch-ua: \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"\r\n" +
	"sec-ch-ua-mobile: ?0\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
	"sec-ch-ua-platform: \"Linux\"\r\n" +
	"Accept: */*\r\n" +
	"Sec-Fetch-Site: same-origin\r\n" +
	"Sec-Fetch-Mode: no-cors\r\n" +
	"Sec-Fetch-Dest: script\r\n" +
	"Referer: https://www.example.com/\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Cookie: session=abc123; theme=dark\r\n" +
	"\r\n"

func corpus() []corpusCase {
	long := strings.Repeat("a", 9000)
	var big strings.Builder
	for i := range 5 {
		big.WriteString("X-H" + string(rune('0'+i)) + ": " + strings.Repeat("v", 7000) + "\r\n")
	}
	ch := "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	return []corpusCase{
		// Accepted by both.
		{"get", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
		{"browser", browserRequest},
		{"query", "GET /a/b%20c?x=1&y=%20z HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"},
		{"post cl", "POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"},
		{"post cl zero", "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"},
		{"cl leading zeros", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\nabc"},
		{"pipelined", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /4 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"chunked", ch + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"},
		{"chunked upper hex", ch + "A\r\n0123456789\r\n0\r\n\r\n"},
		{"chunked te case", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"},
		{"chunked extensions", ch + "5;a=b;c=\"q;\\\"x\"\r\nhello\r\n3;d ; e = f\r\nabc\r\n0;last\r\n\r\n"},
		{"chunked trailers", "POST / HTTP/1.1\r\nHost: a\r\nTrailer: X-T, x-other\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: v1\r\nx-other: v2\r\nX-Undeclared: v3\r\n\r\n"},
		{"chunked pipelined", ch + "3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"chunked leading zeros", ch + "0003\r\nabc\r\n000\r\n\r\n"},
		{"absolute-form", "GET http://example.com/p?q=1 HTTP/1.1\r\nHost: other.example\r\n\r\n"},
		{"absolute-form https", "GET https://example.com:8443/p HTTP/1.1\r\nHost: example.com:8443\r\n\r\n"},
		{"http/1.0", "GET / HTTP/1.0\r\n\r\n"},
		{"http/1.0 keep-alive", "GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: a\r\n\r\nGET /3 HTTP/1.0\r\n\r\n"},
		{"http/1.0 post", "POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nab"},
		{"http/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n"},
		{"connection close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"connection keep-alive close", "GET / HTTP/1.0\r\nConnection: keep-alive, Close\r\n\r\n"},
		{"repeated fields", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nCookie: a=1\r\nx-a: 2\r\nCookie: b=2\r\nX-a:3\r\n\r\n"},
		{"pragma", "GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n"},
		{"pragma with cache-control", "GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\nCache-Control: max-age=0\r\n\r\n"},
		{"empty value", "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Spaces:   \r\n\r\n"},
		{"ows", "GET / HTTP/1.1\r\nHost:  a \r\nX-A:\t v w \t\r\n\r\n"},
		{"obs-text value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: caf\xc3\xa9\r\n\r\n"},
		{"lower-case names", "POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 2\r\nuser-agent: x\r\nx-custom-thing: y\r\n\r\nok"},
		{"odd names", "GET / HTTP/1.1\r\nHost: a\r\nX_Under-Score: 1\r\nx!#$%&'*+.^`|~: 2\r\nA-: 3\r\n-b: 4\r\n\r\n"},
		{"empty host", "GET / HTTP/1.1\r\nHost:\r\n\r\n"},
		{"ipv6 host", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"},
		{"connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"},
		{"delete", "DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"custom method", "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"utf-8 target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"post then crlf", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"upgrade websocket", "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"},
		{"head just under limits", "GET /" + strings.Repeat("b", 8000) + " HTTP/1.1\r\nHost: a\r\nX-A: " + strings.Repeat("c", 8000) + "\r\n\r\n"},
		{"trailer without chunked", "GET / HTTP/1.1\r\nHost: a\r\nTrailer: X-T\r\n\r\n"},
		{"empty", ""},

		// Rejected by both.
		{"truncated head", "GET / HTTP/1.1\r\nHost: a\r\n"},
		{"truncated body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"},
		{"truncated chunked", ch + "5\r\nhel"},
		{"cl differ", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx"},
		{"cl plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx"},
		{"cl minus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"},
		{"cl inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\n0123456789"},
		{"cl list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\nx"},
		{"cl overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n"},
		{"te gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"},
		{"te gzip chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
		{"te chunked chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"},
		{"te two lines", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"chunk size non-hex", ch + "g\r\nx\r\n0\r\n\r\n"},
		{"chunk size overflow", ch + "10000000000000000\r\nx\r\n0\r\n\r\n"},
		{"chunk size empty", ch + "\r\nx\r\n0\r\n\r\n"},
		{"chunk size junk", ch + "1x\r\nx\r\n0\r\n\r\n"},
		{"chunk ext space before semicolon", ch + "1 ;a\r\nx\r\n0\r\n\r\n"},
		{"chunk data without crlf", ch + "1\r\nxy\r\n0\r\n\r\n"},
		{"chunk line bare lf", ch + "1\nx\r\n0\r\n\r\n"},
		{"chunk line bare cr", ch + "1\r;a\r\nx\r\n0\r\n\r\n"},
		{"trailer forbidden", "POST / HTTP/1.1\r\nHost: a\r\nTrailer: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"header space before colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n"},
		{"header name non-tchar", "GET / HTTP/1.1\r\nHost: a\r\nX(a): b\r\n\r\n"},
		{"header name empty", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n"},
		{"header no colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A b\r\n\r\n"},
		{"header value nul", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n"},
		{"header value bare cr", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n"},
		{"header value del", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n"},
		{"first header folded", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"},
		{"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"},
		{"bad method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"bad version", "GET / HTTP/1\r\nHost: a\r\n\r\n"},
		{"version lower case", "GET / http/1.1\r\nHost: a\r\n\r\n"},
		{"ctl in target", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"http/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n"},
		{"http/0.9", "GET / HTTP/0.9\r\n\r\n"},
		{"http/3.0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n"},
		{"missing host", "GET / HTTP/1.1\r\n\r\n"},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
		{"invalid host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"},
		{"te chunked empty element", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n"},
		{"pipelined then bad", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"},

		// Different on purpose (see deliberatelyDifferent).
		{"cl and te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
		{"cl equal twice", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"},
		{"te on http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc"},
		{"chunk size trailing space", ch + "1 \r\nx\r\n0\r\n\r\n"},
		{"chunk ext bad syntax", ch + "1;=\r\nx\r\n0\r\n\r\n"},
		{"chunk size 16 digits", ch + "0000000000000001\r\nx\r\n0\r\n\r\n"},
		{"bare lf head", "GET / HTTP/1.1\nHost: a\n\n"},
		{"bare lf header line", "GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n"},
		{"trailer obs-fold", ch + "0\r\nX-T: v\r\n w\r\n\r\n"},
		{"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"post then lf", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"leading crlf", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"connect without host", "CONNECT example.com:443 HTTP/1.1\r\n\r\n"},
		{"request line too long", "GET /" + long + " HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"header line too long", "GET / HTTP/1.1\r\nHost: a\r\nX-A: " + long + "\r\n\r\n"},
		{"head too large", "GET / HTTP/1.1\r\nHost: a\r\n" + big.String() + "\r\n"},
	}
}

// deliberatelyDifferent lists the corpus cases where h1parse and net/http's
// server disagree on purpose, each with why.
var deliberatelyDifferent = map[string]string{
	"cl and te":                 "smuggling form: nginx rejects, net/http drops Content-Length",
	"cl equal twice":            "smuggling form: nginx rejects duplicate Content-Length, net/http merges equal ones",
	"te on http/1.0":            "nginx rejects Transfer-Encoding on 1.0; net/http ignores it and frames by Content-Length",
	"chunk size trailing space": "RFC 9112 has no whitespace after chunk-size; net/http trims it",
	"chunk ext bad syntax":      "chunk-ext must follow the RFC grammar; net/http ignores everything after ';'",
	"chunk size 16 digits":      "chunk sizes are at most 15 hex digits, net/http allows 16",
	"bare lf head":              "bare LF line ends are a smuggling vector; net/http accepts them in the head",
	"bare lf header line":       "as above",
	"obs-fold":                  "RFC 9112 lets servers reject obs-fold; net/http unfolds it",
	"trailer obs-fold":          "as above, in the trailer section",
	"h2 preface":                "net/http hands a handler the HTTP/2 prior-knowledge preface as a PRI request; moat's HTTP/1.1 server answers 505",
	"post then lf":              "net/http skips up to 4 CR or LF bytes after a POST; h1parse skips only CRLF pairs (bare LF is rejected everywhere)",
	"leading crlf":              "RFC 9112 section 2.2 and nginx skip it; net/http only after a POST",
	"connect without host":      "RFC 9112 requires Host on every 1.1 request; net/http exempts CONNECT",
	"request line too long":     "nginx's 8k line limit (414); net/http allows 1 MB",
	"header line too long":      "nginx's 8k line limit (400); net/http allows 1 MB",
	"head too large":            "nginx's 32k head limit (400); net/http allows 1 MB",
}
