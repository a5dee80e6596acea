package ratelimit

import (
	"testing"
	"time"
)

func TestRefills(t *testing.T) {
	now := time.Unix(1000, 0)
	l := New(10, 1, func() time.Time { return now })
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("first denied")
	}
	ok, wait := l.Allow("a")
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("second: %v %v", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("other client limited")
	}
	now = now.Add(100 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("not refilled")
	}
	now = now.Add(2 * time.Minute)
	l.Allow("c")
	if _, ok := l.buckets["a"]; ok {
		t.Fatal("idle bucket not swept")
	}
}
