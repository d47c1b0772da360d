package upgrade

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// frame builds one WebSocket frame with a payload of n bytes.
func frame(n int, masked bool) []byte {
	var b []byte
	b = append(b, 0x82) // FIN, binary
	m := byte(0)
	if masked {
		m = 0x80
	}
	switch {
	case n < 126:
		b = append(b, m|byte(n))
	case n < 1<<16:
		b = append(b, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if masked {
		b = append(b, 1, 2, 3, 4)
	}
	return append(b, bytes.Repeat([]byte{'x'}, n)...)
}

func TestFrameTrackerBoundaries(t *testing.T) {
	var stream []byte
	var ends []int // offsets at which a frame ends
	for _, f := range [][]byte{frame(0, false), frame(5, false), frame(125, true), frame(126, false), frame(300, true), frame(70000, false), frame(1, false)} {
		stream = append(stream, f...)
		ends = append(ends, len(stream))
	}
	// Fed in every chunk size from 1 byte up, boundary() is true exactly at
	// the end of each frame.
	for _, chunk := range []int{1, 2, 3, 7, 13, 64, 4096, len(stream)} {
		var tr frameTracker
		isEnd := map[int]bool{0: true}
		for _, e := range ends {
			isEnd[e] = true
		}
		for off := 0; off < len(stream); {
			n := min(chunk, len(stream)-off)
			tr.advance(stream[off : off+n])
			off += n
			if got := tr.boundary(); got != isEnd[off] {
				t.Fatalf("chunk %d: boundary() at offset %d = %v, want %v", chunk, off, got, isEnd[off])
			}
		}
	}
}

func TestFrameTrackerOverlongLength(t *testing.T) {
	var tr frameTracker
	tr.advance([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0})
	if tr.boundary() {
		t.Fatal("a 64-bit length with the top bit set (RFC 6455 §5.2 forbids it) left the tracker claiming a boundary")
	}
	tr.advance(frame(3, false))
	if tr.boundary() {
		t.Fatal("a lost tracker recovered a boundary from later bytes")
	}
}

// FuzzFrameTracker: any byte stream, cut anywhere, gives the same verdict
// as the stream fed whole, and never panics.
func FuzzFrameTracker(f *testing.F) {
	f.Add(frame(5, false), 1)
	f.Add(append(frame(200, true), frame(70000, false)[:20]...), 3)
	f.Add([]byte{0x82, 127, 0xff, 0, 0, 0, 0, 0, 0, 0}, 2)
	f.Fuzz(func(t *testing.T, p []byte, cut int) {
		var whole, parts frameTracker
		whole.advance(p)
		if cut < 0 {
			cut = -cut
		}
		if len(p) > 0 {
			cut %= len(p) + 1
		} else {
			cut = 0
		}
		parts.advance(p[:cut])
		parts.advance(p[cut:])
		if whole != parts {
			t.Fatalf("state after whole stream %+v, after cut at %d %+v", whole, cut, parts)
		}
	})
}
