package pipeline

import "testing"

// The watermark is the lowest unfinished offset whatever order records
// finish in, and the pending list is compacted behind a long-held head.
func TestWatermark(t *testing.T) {
	ps := newPartState(0)
	if _, _, ok := ps.watermark(); ok {
		t.Fatal("watermark before any fetch")
	}
	var recs []*rec
	add := func(off int64) {
		r := &rec{part: ps, seq: ps.nextSeq}
		ps.nextSeq++
		ps.pending = append(ps.pending, slot{off: off, epoch: 1})
		ps.next = off + 1
		ps.unfinished++
		recs = append(recs, r)
	}
	for off := int64(100); off < 3100; off++ {
		add(off)
	}
	wm := func() int64 {
		off, _, _ := ps.watermark()
		return off
	}
	for _, r := range recs[1:] {
		ps.markDone(r)
	}
	if wm() != 100 {
		t.Fatalf("watermark = %d with offset 100 unfinished", wm())
	}
	ps.markDone(recs[0])
	if wm() != 3100 || len(ps.pending) != 0 || ps.unfinished != 0 {
		t.Fatalf("after all done: watermark %d, pending %d, unfinished %d; want 3100, 0, 0", wm(), len(ps.pending), ps.unfinished)
	}
	// Finish in order up to a held record: the list is compacted and
	// sequence numbers still find their slots.
	recs = recs[:0]
	for off := int64(3100); off < 6100; off++ {
		add(off)
	}
	for _, r := range recs[:2000] {
		ps.markDone(r)
	}
	if wm() != 5100 || len(ps.pending) > 2000 {
		t.Fatalf("watermark %d, pending %d; want 5100 and a compacted list", wm(), len(ps.pending))
	}
	for _, r := range recs[2001:] {
		ps.markDone(r)
	}
	if wm() != 5100 {
		t.Fatalf("watermark = %d, want 5100 (held)", wm())
	}
	ps.markDone(recs[2000])
	if wm() != 6100 {
		t.Fatalf("watermark = %d, want 6100", wm())
	}
}
