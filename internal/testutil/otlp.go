package testutil

import (
	"context"
	"encoding/hex"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Span is one span an OTLPReceiver got, flattened for assertions.
type Span struct {
	TraceID, SpanID, ParentSpanID string // hex; ParentSpanID "" for a root
	Name                          string
	Kind                          int32 // 2: server
	Service                       string
	Attrs                         map[string]any // string and int64 values
	StatusCode                    int32          // 1: ok, 2: error
}

// OTLPReceiver is a minimal OTLP/gRPC trace collector on loopback: the
// collector service of go.opentelemetry.io/proto/otlp, keeping the spans
// it receives. With discard it does not even decode them (a codec that
// counts bytes), so a benchmark's CPU is the exporter's, not the
// receiver's.
type OTLPReceiver struct {
	collectorpb.UnimplementedTraceServiceServer
	Addr string

	discard bool
	mu      sync.Mutex
	spans   []Span
	count   int
	bytes   atomic.Int64
}

// StartOTLPReceiver serves until the test ends.
func StartOTLPReceiver(t testing.TB, discard bool) *OTLPReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &OTLPReceiver{Addr: ln.Addr().String(), discard: discard}
	var opts []grpc.ServerOption
	if discard {
		opts = append(opts, grpc.ForceServerCodec(discardCodec{r}))
	}
	srv := grpc.NewServer(opts...)
	collectorpb.RegisterTraceServiceServer(srv, r)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return r
}

// Export implements the collector service.
func (r *OTLPReceiver) Export(_ context.Context, req *collectorpb.ExportTraceServiceRequest) (*collectorpb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			r.count += len(ss.Spans)
			if r.discard {
				continue
			}
			for _, s := range ss.Spans {
				sp := Span{TraceID: hex.EncodeToString(s.TraceId), SpanID: hex.EncodeToString(s.SpanId), ParentSpanID: hex.EncodeToString(s.ParentSpanId),
					Name: s.Name, Kind: int32(s.Kind), Service: service, Attrs: map[string]any{}, StatusCode: int32(s.GetStatus().GetCode())}
				for _, a := range s.Attributes {
					switch v := a.GetValue(); {
					case v.GetStringValue() != "":
						sp.Attrs[a.Key] = v.GetStringValue()
					default:
						sp.Attrs[a.Key] = v.GetIntValue()
					}
				}
				r.spans = append(r.spans, sp)
			}
		}
	}
	return &collectorpb.ExportTraceServiceResponse{}, nil
}

// Spans returns the spans received so far.
func (r *OTLPReceiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Bytes is the size of the export requests received so far.
func (r *OTLPReceiver) Bytes() int64 { return r.bytes.Load() }

// discardCodec counts request bytes instead of decoding them.
type discardCodec struct{ r *OTLPReceiver }

func (c discardCodec) Marshal(v any) ([]byte, error) { return proto.Marshal(v.(proto.Message)) }
func (c discardCodec) Unmarshal(data []byte, _ any) error {
	c.r.bytes.Add(int64(len(data)))
	return nil
}
func (discardCodec) Name() string { return "proto" }

// Count is the number of spans received so far (decoded: not with discard).
func (r *OTLPReceiver) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}
