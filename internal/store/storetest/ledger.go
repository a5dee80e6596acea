package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/store"
)

// tracked returns the record of a source's event numbered seq in stream.
func tracked(id, sourceID, stream string, seq int64, partition int32) store.Record {
	r := completed(id, event.TypePageView, "", event.SourceCollect)
	r.Event.SourceID, r.Event.AnonymousID = sourceID, "anon-"+stream
	r.Event.StreamID, r.Event.Seq = stream, seq
	r.Message.Partition = partition
	return r
}

// ledgerTotal sums a source's ledger around now.
func ledgerTotal(t *testing.T, s store.Store, sourceID string) ledger.Counts {
	t.Helper()
	now := time.Now()
	points, err := s.LedgerSeries(t.Context(), sourceID, now.Add(-time.Hour), now.Add(time.Hour), time.Hour)
	if err != nil {
		t.Fatalf("LedgerSeries: %v", err)
	}
	var c ledger.Counts
	for _, p := range points {
		if sourceID != "" && p.SourceID != sourceID {
			t.Errorf("a point of source %s in the series of %s", p.SourceID, sourceID)
		}
		c.Add(p.Counts)
	}
	return c
}

// testLedgerCountsOnce: a stream's events, a redelivery of them, a hole and
// the event that fills it late, and a client's report carried twice: each
// is counted once, as the ledger says it is.
func testLedgerCountsOnce(t *testing.T, s store.Store) {
	first := []store.Record{
		tracked("e1", "src_a", "st1", 1, 0),
		tracked("e2", "src_a", "st1", 2, 1),
		tracked("e4", "src_a", "st1", 4, 0), // 3 is missing
		tracked("f1", "src_a", "st2", 1, 2),
	}
	first[0].Delivery = ledger.Delivery{ClientDropped: 5}
	first[1].Delivery = ledger.Delivery{SkewCorrected: true}
	write(t, s, first...)
	want := ledger.Counts{Numbered: 5, Stored: 4, Sequenced: 4, DroppedClient: 5, SkewCorrected: 1}
	if got := ledgerTotal(t, s, "src_a"); got != want {
		t.Fatalf("after the first batch: %+v, want %+v", got, want)
	}
	if got := want.Gaps(); got != 1 {
		t.Fatalf("gaps %d, want 1", got)
	}

	// The same batch again (a redelivery after a crash), then the late 3.
	write(t, s, first...)
	write(t, s, tracked("e3", "src_a", "st1", 3, 1))
	want = ledger.Counts{Numbered: 5, Stored: 5, Sequenced: 5, Duplicates: 4, DroppedClient: 5, SkewCorrected: 1, Late: 1}
	got := ledgerTotal(t, s, "src_a")
	if got != want {
		t.Fatalf("after a redelivery and the late event: %+v, want %+v", got, want)
	}
	if got.Gaps() != 0 {
		t.Fatalf("gaps %d after the hole was filled", got.Gaps())
	}

	// An event without a source, and a source's event without numbers.
	plain := completed("p1", event.TypePageView, "", event.SourceAPI)
	unnumbered := completed("u1", event.TypePageView, "", event.SourceCollect)
	unnumbered.Event.SourceID = "src_b"
	write(t, s, plain, unnumbered)
	if got := ledgerTotal(t, s, "src_b"); got != (ledger.Counts{Stored: 1}) {
		t.Fatalf("an unnumbered event: %+v", got)
	}
	if got := ledgerTotal(t, s, ""); got.Stored != 6 {
		t.Fatalf("every source: stored %d, want 6 (an event without a source counted?)", got.Stored)
	}
	stored := latest(t, s, 10)
	for _, e := range stored {
		if e.EventID == "e1" && (e.SourceID != "src_a" || e.AnonymousID != "anon-st1") {
			t.Fatalf("e1 read back as %+v", e)
		}
	}
}

// testLedgerConflictIsNoDuplicate: an event_id reused with another
// anonymous id is a conflict, neither stored nor a duplicate.
func testLedgerConflictIsNoDuplicate(t *testing.T, s store.Store) {
	write(t, s, tracked("c1", "src_a", "st1", 1, 0))
	other := tracked("c1", "src_a", "st1", 1, 0)
	other.Event.AnonymousID = "someone else"
	out := writeOutcomes(t, s, other)
	if out[0].Conflict == "" {
		t.Fatal("an event_id reused with another anonymous_id is no conflict")
	}
	if got := ledgerTotal(t, s, "src_a"); got.Duplicates != 0 || got.Stored != 1 {
		t.Fatalf("ledger %+v", got)
	}
}

// testLedgerConcurrentStream: consumers storing one stream's events at once
// (its events hash to several partitions) count every number exactly.
func testLedgerConcurrentStream(t *testing.T, s store.Store) {
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				seq := int64(i*writers + w + 1)
				r := tracked(fmt.Sprintf("w%d-%d", w, i), "src_c", "shared", seq, int32(w))
				if _, err := s.Write(t.Context(), []store.Record{r}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Write: %v", err)
	}
	got := ledgerTotal(t, s, "src_c")
	if got.Numbered != writers*each || got.Sequenced != writers*each || got.Gaps() != 0 {
		t.Fatalf("ledger %+v, want %d numbered and sequenced, no gap", got, writers*each)
	}
}

// testLedgerCollectorCounts: AddLedger adds, by step and source.
func testLedgerCollectorCounts(t *testing.T, s store.Store) {
	now := time.Now()
	pts := []ledger.Point{
		{T: now, SourceID: "src_a", Counts: ledger.Counts{Received: 3, Rejected: 1}},
		{T: now, SourceID: "src_a", Counts: ledger.Counts{Received: 2, DNTDropped: 4}},
		{T: now, SourceID: "src_b", Counts: ledger.Counts{Received: 7}},
	}
	for _, p := range pts {
		if err := s.AddLedger(t.Context(), []ledger.Point{p}); err != nil {
			t.Fatalf("AddLedger: %v", err)
		}
	}
	if got := ledgerTotal(t, s, "src_a"); got != (ledger.Counts{Received: 5, Rejected: 1, DNTDropped: 4}) {
		t.Fatalf("src_a: %+v", got)
	}
	// Two steps of a range: each bucket lands in its own.
	from := time.Unix(now.Unix()-now.Unix()%60, 0).Add(-time.Hour)
	if err := s.AddLedger(t.Context(), []ledger.Point{{T: from.Add(90 * time.Second), SourceID: "src_b", Counts: ledger.Counts{Received: 1}}}); err != nil {
		t.Fatal(err)
	}
	points, err := s.LedgerSeries(t.Context(), "src_b", from, from.Add(2*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 1 || !points[0].T.Equal(from.Add(time.Minute)) || points[0].Received != 1 {
		t.Fatalf("points %+v, want one at %v", points, from.Add(time.Minute))
	}
}

// testLedgerRetention: rows older than ledger.Keep go, newer ones stay.
func testLedgerRetention(t *testing.T, s store.Store) {
	now := time.Now()
	if err := s.AddLedger(t.Context(), []ledger.Point{
		{T: now.Add(-ledger.Keep - time.Hour), SourceID: "src_a", Counts: ledger.Counts{Received: 1}},
		{T: now, SourceID: "src_a", Counts: ledger.Counts{Received: 2}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retain(t.Context(), store.Retention{}); err != nil {
		t.Fatal(err)
	}
	points, err := s.LedgerSeries(t.Context(), "", now.Add(-ledger.Keep-2*time.Hour), now.Add(time.Hour), ledger.Keep+3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 1 || points[0].Received != 2 {
		t.Fatalf("after retention: %+v", points)
	}
}

// testSources: create, a taken name or key, list, revoke twice, unknown.
func testSources(t *testing.T, s store.Store) {
	ctx := t.Context()
	at := base
	shop := store.Source{ID: "src_1", Name: "shop", WriteKey: "pk_1", Origins: []string{"https://shop.example", "*.shop.example"},
		Settings: store.SourceSettings{RespectDNT: true}, CreatedAt: at}
	if err := s.CreateSource(ctx, shop); err != nil {
		t.Fatal(err)
	}
	for _, clash := range []store.Source{
		{ID: "src_2", Name: "shop", WriteKey: "pk_2", CreatedAt: at},
		{ID: "src_3", Name: "blog", WriteKey: "pk_1", CreatedAt: at},
	} {
		if err := s.CreateSource(ctx, clash); !errors.Is(err, store.ErrSourceExists) {
			t.Errorf("CreateSource(%+v) = %v, want ErrSourceExists", clash, err)
		}
	}
	blog := store.Source{ID: "src_4", Name: "blog", WriteKey: "pk_4", CreatedAt: at.Add(time.Second)}
	if err := s.CreateSource(ctx, blog); err != nil {
		t.Fatal(err)
	}
	all, err := s.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "src_1" || all[1].ID != "src_4" {
		t.Fatalf("sources %+v", all)
	}
	if got := all[0]; got.Name != "shop" || got.WriteKey != "pk_1" || len(got.Origins) != 2 || got.Origins[1] != "*.shop.example" ||
		!got.Settings.RespectDNT || !got.CreatedAt.Equal(at) || got.RevokedAt != nil {
		t.Fatalf("shop read back as %+v", got)
	}
	if all[1].Origins == nil {
		t.Fatal("no origins read back as nil, not empty")
	}
	revoked, err := s.RevokeSource(ctx, "src_1", at.Add(time.Minute))
	if err != nil || revoked.RevokedAt == nil || !revoked.RevokedAt.Equal(at.Add(time.Minute)) {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	again, err := s.RevokeSource(ctx, "src_1", at.Add(time.Hour))
	if err != nil || !again.RevokedAt.Equal(at.Add(time.Minute)) {
		t.Fatalf("a second revoke moved the time: %+v %v", again, err)
	}
	if _, err := s.RevokeSource(ctx, "src_none", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking an unknown source: %v", err)
	}
}
