package respheaders

import (
	"net/http"
	"strings"
)

// grpcStatusKeys are the fields of a gRPC status.
var grpcStatusKeys = [...]string{"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"}

// GRPCTrailersOnly moves the status of a gRPC "trailers-only" response (a
// HEADERS frame that ends the stream, which the HTTP/2 client reports as
// headers with an empty body) into trailers. ReverseProxy flushes bodies
// of unknown length as they come and may flush the headers before it sees
// the empty body end, splitting them from END_STREAM; gRPC clients then read the status
// as ordinary headers and fail with "server closed the stream without
// sending trailers". As trailers the status arrives either way.
func GRPCTrailersOnly(res *http.Response) {
	if res.ContentLength != 0 || len(res.Trailer) > 0 || res.Header["Grpc-Status"] == nil ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "application/grpc") {
		return
	}
	tr := make(http.Header, len(grpcStatusKeys))
	for _, k := range grpcStatusKeys {
		if v, ok := res.Header[k]; ok {
			tr[k] = v
			delete(res.Header, k)
		}
	}
	res.Trailer = tr
}
