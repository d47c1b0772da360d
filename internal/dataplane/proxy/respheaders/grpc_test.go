package respheaders

import (
	"net/http"
	"testing"
)

func TestGRPCTrailersOnly(t *testing.T) {
	res := &http.Response{ContentLength: 0, Header: http.Header{
		"Content-Type": {"application/grpc"}, "Grpc-Status": {"5"}, "Grpc-Message": {"unknown service"}}}
	GRPCTrailersOnly(res)
	if res.Header["Grpc-Status"] != nil || res.Trailer.Get("Grpc-Status") != "5" || res.Trailer.Get("Grpc-Message") != "unknown service" {
		t.Errorf("status not moved to trailers: header %v trailer %v", res.Header, res.Trailer)
	}
	// A response with a body, or not gRPC, is left alone.
	for _, res := range []*http.Response{
		{ContentLength: -1, Header: http.Header{"Content-Type": {"application/grpc"}, "Grpc-Status": {"0"}}},
		{ContentLength: 0, Header: http.Header{"Content-Type": {"text/plain"}, "Grpc-Status": {"0"}}},
	} {
		GRPCTrailersOnly(res)
		if res.Trailer != nil || res.Header["Grpc-Status"] == nil {
			t.Errorf("changed %v", res.Header)
		}
	}
}
