package postgres_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/postgres"
	"github.com/pulse-dev/pulse/internal/store/storetest"
	"github.com/pulse-dev/pulse/test/pgtest"
)

// testURL is the server the tests use.
func testURL() string { return pgtest.URL() }

// freshSchema returns the name of a schema no other test uses, and drops it
// when the test ends.
func freshSchema(t testing.TB) string { return pgtest.FreshSchema(t, "pulse_test_") }

func open(t testing.TB, schema string) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, testURL(), postgres.Options{Schema: schema, MaxConns: 4}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("PostgreSQL at %s is required (set PULSE_TEST_POSTGRES_URL to point elsewhere): %v",
			postgres.Redact(testURL()), err)
	}
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, freshSchema(t))
	})
}

func TestExplorer(t *testing.T) {
	storetest.RunExplorer(t, func(t *testing.T) storetest.ExplorerStore {
		return open(t, freshSchema(t))
	})
}

func TestReopenKeepsData(t *testing.T) {
	schema := freshSchema(t)
	db := open(t, schema)
	rec := store.Record{
		Event:   &event.Event{EventID: "kept", UserID: "u", EventType: event.TypePageView},
		Message: event.Message{EventID: "kept", Status: event.StatusCompleted, Source: event.SourceAPI},
	}
	if _, err := db.Write(t.Context(), []store.Record{rec}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Opening again runs the migrations again, which must change nothing.
	db = open(t, schema)
	defer db.Close()
	got, err := db.LatestEvents(t.Context(), 10)
	if err != nil {
		t.Fatalf("LatestEvents: %v", err)
	}
	if len(got) != 1 || got[0].EventID != "kept" {
		t.Fatalf("after reopen: events %+v, want the one written before", got)
	}
	inserted, err := db.Write(t.Context(), []store.Record{rec})
	if err != nil || inserted[0] != (store.Outcome{}) {
		t.Errorf("rewrite after reopen = %v, %v; want not inserted", inserted, err)
	}
}

func TestUnstorableTextIsReplaced(t *testing.T) {
	db := open(t, freshSchema(t))
	defer db.Close()
	rec := store.Record{Message: event.Message{
		EventID: "bad-text", Status: event.StatusDeadLettered, Error: "nul\x00 and \xff",
	}}
	if _, err := db.Write(t.Context(), []store.Record{rec}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	msgs, err := db.Messages(t.Context(), store.MessageFilter{})
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	if len(msgs) != 1 || msgs[0].Error != "nul\uFFFD and \uFFFD" {
		t.Errorf("messages = %+v, want the error with replacement characters", msgs)
	}
}

func TestOpenRejectsBadSchema(t *testing.T) {
	for _, schema := range []string{"Upper", "semi;colon", `quo"te`, strings.Repeat("a", 64)} {
		if db, err := postgres.Open(t.Context(), testURL(), postgres.Options{Schema: schema}, nil); err == nil {
			db.Close()
			t.Errorf("Open with schema %q succeeded, want an error", schema)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://pulse:s3cret@db:5432/pulse?sslmode=disable", "postgres://pulse:xxxxx@db:5432/pulse?sslmode=disable"},
		{"postgresql://db/pulse?user=pulse&password=s3cret", "postgresql://db/pulse?password=xxxxx&user=pulse"},
		{"postgres://postgres@127.0.0.1:5432/test", "postgres://postgres@127.0.0.1:5432/test"},
		{"host=db user=pulse password=s3cret dbname=pulse", "host=db user=pulse password=xxxxx dbname=pulse"},
		{"host=db password = 'a b\\'c' dbname=pulse", "host=db password = xxxxx dbname=pulse"},
	} {
		got := postgres.Redact(tc.in)
		if got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) leaks the password: %q", tc.in, got)
		}
	}
}

func TestUnreachableServerFailsClearly(t *testing.T) {
	// Port 1 on loopback refuses at once; the error names the redacted URL.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://pulse:s3cret@127.0.0.1:1/pulse?sslmode=disable&connect_timeout=2", postgres.Options{}, nil)
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error = %q, want the redacted URL and no password", err)
	}
}

func BenchmarkWrite(b *testing.B) {
	db := open(b, freshSchema(b))
	defer db.Close()
	storetest.BenchmarkWrite(b, db)
}
