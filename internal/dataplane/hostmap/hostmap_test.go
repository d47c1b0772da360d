package hostmap

import (
	"reflect"
	"testing"

	"github.com/moat-ingress/moat/internal/routecfg"
)

func TestDiff(t *testing.T) {
	vh := func(h string) *routecfg.VirtualHost { return &routecfg.VirtualHost{Host: h} }
	a, b, c, w := vh("a.example"), vh("b.example"), vh("c.example"), vh("*.b.example")
	b2, d := vh("B.example."), vh("d.example")
	prev := []*routecfg.VirtualHost{w, a, b, c}
	if !Sorted(prev) {
		t.Fatal("sorted list reported unsorted")
	}
	got, ok := Diff(prev, []*routecfg.VirtualHost{a, b2, d})
	want := []Delta{{Old: w}, {Old: b, New: b2}, {Old: c}, {New: d}}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("Diff = %v, %v; want %v", got, ok, want)
	}
	for name, next := range map[string][]*routecfg.VirtualHost{
		"unsorted":        {a, d, c},
		"unsorted shared": {b, a},
		"duplicate":       {a, a},
		"same name twice": {a, vh("A.example")},
		"nil":             {a, nil},
		"unnamed":         {vh("")},
	} {
		if _, ok := Diff(prev, next); ok {
			t.Errorf("%s: Diff accepted it", name)
		}
		if Sorted(next) {
			t.Errorf("%s: Sorted accepted it", name)
		}
	}
}

func TestWith(t *testing.T) {
	m := New[int](0)
	m.Add("a.example", 1)
	m.Add("*.w.example", 2)
	m.Add("a.example", 9) // the first wins
	for i := range 200 {  // past overlayLimit: folds
		m = m.With([]Change[int]{{Host: "a.example", Delete: i%2 == 0, Value: i}, {Host: "x.example", Value: i}})
	}
	next := m.With([]Change[int]{{Host: "*.w.example", Delete: true}, {Host: "nothing.example", Delete: true}})
	for _, c := range []struct {
		m    *Map[int]
		name string
		v    int
		ok   bool
	}{
		{m, "a.example", 199, true}, {m, "x.example", 199, true}, {m, "y.w.example", 2, true},
		{m, "w.example", 0, false}, {m, "a.y.w.example", 0, false},
		{next, "y.w.example", 0, false}, {next, "a.example", 199, true},
	} {
		if v, ok := c.m.Lookup([]byte(c.name)); v != c.v || ok != c.ok {
			t.Errorf("Lookup(%q) = %d, %v; want %d, %v", c.name, v, ok, c.v, c.ok)
		}
	}
	if m.Len() != 3 || next.Len() != 2 {
		t.Errorf("Len = %d, %d; want 3, 2", m.Len(), next.Len())
	}
}

// Gateway API wildcards cover one or more labels, the longest suffix
// first; Ingress ones exactly one.
func TestLookupAnyDepth(t *testing.T) {
	m := New[string](4)
	m.Add("*.bar.com", "bar")
	m.Add("*.foo.bar.com", "foo.bar")
	m.Add("exact.foo.bar.com", "exact")
	for _, c := range []struct{ host, want, ingress string }{
		{"exact.foo.bar.com", "exact", "exact"},
		{"a.foo.bar.com", "foo.bar", "foo.bar"},
		{"a.b.foo.bar.com", "foo.bar", ""},
		{"multiple.prefixes.bar.com", "bar", ""},
		{"x.bar.com", "bar", "bar"},
		{"bar.com", "", ""},
		{".bar.com", "", ""},
		{"a..bar.com", "", ""},
		{"", "", ""},
	} {
		if got, _ := m.LookupAnyDepth([]byte(c.host)); got != c.want {
			t.Errorf("LookupAnyDepth(%q) = %q, want %q", c.host, got, c.want)
		}
		if got, _ := m.Lookup([]byte(c.host)); got != c.ingress {
			t.Errorf("Lookup(%q) = %q, want %q", c.host, got, c.ingress)
		}
	}
}
