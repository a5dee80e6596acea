package storetest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// bruteTotals counts what Totals reports from the rows themselves.
func bruteTotals(t *testing.T, s store.Store) store.Totals {
	t.Helper()
	want := store.NewTotals()
	evs, err := s.LatestEvents(t.Context(), store.MaxLimit)
	if err != nil {
		t.Fatalf("LatestEvents: %v", err)
	}
	for _, e := range evs {
		want.AddRow(store.TotalType, e.EventType, 1, 0)
		if e.EventType == event.TypeButtonClick {
			want.AddRow(store.TotalClick, e.ElementID, 1, 0)
		}
	}
	msgs, err := s.Messages(t.Context(), store.MessageFilter{Limit: store.MaxLimit})
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	for _, m := range msgs {
		want.AddRow(store.TotalStatus, string(m.Status), 1, m.DurationMS)
	}
	return want
}

// The running totals Totals reads (no scan) agree with the rows after
// every kind of change: new events across partitions, redeliveries,
// dead letters, a dead letter replaced by its replay's completion, and
// retention deleting the oldest rows of both tables.
func testTotalsFollowEveryChange(t *testing.T, s store.Store) {
	check := func(step string) {
		t.Helper()
		got, err := s.Totals(t.Context(), base.AddDate(1, 0, 0))
		if err != nil {
			t.Fatalf("%s: Totals: %v", step, err)
		}
		if want := bruteTotals(t, s); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: Totals =\n%+v\nthe rows say\n%+v", step, got, want)
		}
	}
	check("empty")

	var batch []store.Record
	for i := range 40 {
		typ, el := event.TypePageView, ""
		if i%3 == 0 {
			typ, el = event.TypeButtonClick, fmt.Sprintf("button-%d", i%4)
		}
		r := completed(fmt.Sprintf("tot-%02d", i), typ, el, event.SourceAPI)
		r.Message.Partition = int32(i % 3)
		r.Message.DurationMS = float64(i)
		batch = append(batch, r)
	}
	for i := range 5 {
		dl := deadLettered(fmt.Sprintf("tot-dl-%d", i), event.SourceKafka)
		dl.Message.Partition = int32(i % 3)
		dl.Message.DurationMS = 600
		batch = append(batch, dl)
	}
	write(t, s, batch[:25]...)
	write(t, s, batch[20:]...) // five redelivered
	check("written")

	// Two dead letters replayed: each completes on another partition.
	for i := range 2 {
		r := completed(fmt.Sprintf("tot-dl-%d", i), event.TypeFormSubmit, "form", event.SourceAPI)
		r.Message.Partition = int32(2 - i)
		r.Message.DurationMS = 7
		write(t, s, r)
	}
	// A late copy of a dead letter replayed changes nothing.
	write(t, s, batch[40])
	check("replayed")

	if _, err := s.Retain(t.Context(), store.Retention{MaxRows: 17}); err != nil {
		t.Fatalf("Retain: %v", err)
	}
	check("retained")
	got, err := s.Totals(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	if got.Events != 17 {
		t.Fatalf("after retention to 17 rows: %d events", got.Events)
	}
}
