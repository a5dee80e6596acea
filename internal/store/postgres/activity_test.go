package postgres

import "testing"

func TestSpans(t *testing.T) {
	for _, c := range []struct{ day, from int64 }{
		{0, 0}, {62, 0}, {63, 63}, {20790, 20790}, {20789, 20727}, {-1, -63}, {-63, -63}, {-64, -126},
	} {
		if got := spanFrom(c.day); got != c.from {
			t.Errorf("spanFrom(%d) = %d, want %d", c.day, got, c.from)
		}
	}
	for _, c := range []struct {
		span, from, to int64
		want           uint64
	}{
		{63, 63, 126, 1<<63 - 1},
		{63, 0, 1000, 1<<63 - 1},
		{63, 65, 67, 0b1100},
		{63, 0, 63, 0},
		{63, 126, 200, 0},
		{63, 125, 200, 1 << 62},
		{-63, -1, 1, 1 << 62},
	} {
		if got := daysBetween(c.span, c.from, c.to); got != c.want {
			t.Errorf("daysBetween(%d, %d, %d) = %b, want %b", c.span, c.from, c.to, got, c.want)
		}
	}
}
