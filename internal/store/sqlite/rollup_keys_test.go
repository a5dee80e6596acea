package sqlite_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// Properties SQLite cannot parse (written behind the store's back: the
// store only takes valid JSON) do not stop a kept key: the filler, the
// writers and retention count such an event as without the property, and
// the others as they are.
func TestPropertyRollupsSurviveUnparsableProperties(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pulse.db")
	db := open(t, path)
	defer db.Close()
	at := time.Date(2026, 12, 1, 10, 0, 30, 0, time.UTC)
	batch := func(from, n int) []store.Record {
		var out []store.Record
		for i := from; i < from+n; i++ {
			id := fmt.Sprintf("bad-%d", i)
			out = append(out, store.Record{
				Event: &event.Event{EventID: id, UserID: "u", EventType: event.TypePageView, Timestamp: at,
					Properties: json.RawMessage(`{"plan": "pro"}`)},
				Message: event.Message{EventID: id, Status: event.StatusCompleted, Source: event.SourceAPI},
			})
		}
		return out
	}
	if _, err := db.Write(t.Context(), batch(0, 5)); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE events SET properties = '{"plan": "pro"' WHERE event_id = 'bad-2'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddRollupKey(t.Context(), "plan"); err != nil {
		t.Fatal(err)
	}
	for {
		more, err := db.FillRollupKeys(t.Context(), 2)
		if err != nil {
			t.Fatalf("FillRollupKeys: %v", err)
		}
		if !more {
			break
		}
	}
	if _, err := db.Write(t.Context(), batch(5, 3)); err != nil {
		t.Fatalf("Write with a kept key: %v", err)
	}
	counts := func() map[string]int64 {
		t.Helper()
		rows, err := db.RollupCounts(t.Context(), store.RollupQuery{Width: store.RollupMinute, Dim: "properties.plan",
			From: at.Add(-time.Hour), To: at.Add(time.Hour)})
		if err != nil {
			t.Fatalf("RollupCounts: %v", err)
		}
		out := map[string]int64{}
		for _, r := range rows {
			out[r.Value] += r.Events
		}
		return out
	}
	if got := counts(); got["pro"] != 7 || got[""] != 1 || len(got) != 2 {
		t.Fatalf("counts by plan %v; want pro 7 and the unparsable one without", got)
	}
	if _, err := db.Retain(t.Context(), store.Retention{MaxRows: 1}); err != nil {
		t.Fatalf("Retain: %v", err)
	}
	if got := counts(); got["pro"] != 1 || len(got) != 1 {
		t.Fatalf("after retention, counts by plan %v; want pro 1", got)
	}
}
