package chaos

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/generator"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// savedRetry is a retry-log row as the test reads it from the store.
type savedRetry struct {
	retries  int
	due      time.Time
	attempts []event.Attempt
}

// queryStore runs q, which takes no arguments, on the store at dbURL (a
// SQLite file or a PostgreSQL URL) and calls each for every row.
func queryStore(ctx context.Context, dbURL, q string, each func(scan func(...any) error) error) error {
	driver, dsn := (&config.Store{DatabaseURL: dbURL}).Database()
	if driver == config.DriverPostgres {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return fmt.Errorf("connect %s: %w", config.RedactURL(dsn), err)
		}
		defer conn.Close(context.Background())
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows.Scan); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	db, err := sql.Open("sqlite3", dsn+"?_busy_timeout=10000")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// micros is the SQL of a stored time as unix microseconds in either store.
func micros(dbURL, column string) string {
	if driver, _ := (&config.Store{DatabaseURL: dbURL}).Database(); driver == config.DriverPostgres {
		return "(extract(epoch from " + column + ") * 1000000)::int8"
	}
	return column
}

// retryRows reads the store's retry log, by event id.
func retryRows(ctx context.Context, dbURL string) (map[string]savedRetry, error) {
	out := map[string]savedRetry{}
	err := queryStore(ctx, dbURL, `SELECT event_id, retries, `+micros(dbURL, "next_retry_at")+`, attempts FROM retries`,
		func(scan func(...any) error) error {
			var (
				id       string
				s        savedRetry
				due      int64
				attempts sql.NullString
			)
			if err := scan(&id, &s.retries, &due, &attempts); err != nil {
				return err
			}
			s.due = time.UnixMicro(due)
			if attempts.Valid {
				if err := json.Unmarshal([]byte(attempts.String), &s.attempts); err != nil {
					return fmt.Errorf("attempts of %s: %w", id, err)
				}
			}
			out[id] = s
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read the retry log: %w", err)
	}
	return out, nil
}

// loggedMessage is a processing-log row as the test reads it.
type loggedMessage struct {
	status   string
	retries  int
	attempts []event.Attempt
}

// loggedMessages reads the processing log, by event id.
func loggedMessages(ctx context.Context, dbURL string) (map[string]loggedMessage, error) {
	out := map[string]loggedMessage{}
	err := queryStore(ctx, dbURL, `SELECT event_id, status, retries, attempts FROM messages`,
		func(scan func(...any) error) error {
			var (
				id string
				m  loggedMessage
				a  sql.NullString
			)
			if err := scan(&id, &m.status, &m.retries, &a); err != nil {
				return err
			}
			if a.Valid {
				if err := json.Unmarshal([]byte(a.String), &m.attempts); err != nil {
					return fmt.Errorf("attempts of %s: %w", id, err)
				}
			}
			out[id] = m
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read the processing log: %w", err)
	}
	return out, nil
}

// TestRetriesSurviveSIGKILL runs two `pulse consume` processes on one
// store, SIGKILLs one and stops the other (SIGTERM) while failing events
// wait for their first retry, and starts a third with a backoff so short
// that a budget started over would dead-letter them at once. The third
// resumes each retry at the due time its first owner saved (not before:
// other keys' events are stored meanwhile), goes on with the budget left
// (4 attempts in all, the first one the first owner's) and dead-letters
// each exactly once; nothing failing is stored, and the retry log ends
// empty. On SQLite and on PostgreSQL.
func TestRetriesSurviveSIGKILL(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testRetriesSurviveSIGKILL(t, filepath.Join(t.TempDir(), "pulse.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		testRetriesSurviveSIGKILL(t, "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&search_path="+pgSchema(t))
	})
}

func testRetriesSurviveSIGKILL(t *testing.T, dbURL string) {
	dir := t.TempDir()
	_, addr := startBroker(t, filepath.Join(dir, "broker"))
	group := "chaos_retry_kill"
	consume := func(id string, retryBase time.Duration) *pulsetest.Proc {
		return startProc(t, "consumer "+id, "consume", "--bootstrap-servers", addr, "--database-url", dbURL,
			"--consumer-group", group, "--consumer-id", id,
			"--retry-base", retryBase.String(), "--retry-max", retryBase.String())
	}
	// The first retries are due 20-40 s after the first attempts: past
	// the ~10 s the group takes to give a killed member's partitions to
	// another.
	killed, stopped := consume("c1", 40*time.Second), consume("c2", 40*time.Second)

	p, err := kafka.NewProducer(kafka.ProducerConfig{Kafka: kafkaConfig(addr).Kafka, Name: "retry-kill"}, nil, nil)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer p.Close()
	ctx := pulsetest.Context(t, 3*time.Minute)
	gen := generator.New(generator.Config{Seed: 41})
	failing := map[string]bool{}
	var batch []*event.Event
	for i := range 20 {
		e := gen.Next()
		// A key each: none waits behind another's retries.
		e.UserID = fmt.Sprintf("retry-kill-%d", i)
		e.ShouldFail, e.DelaySeconds = true, 0
		batch = append(batch, &e)
		failing[e.EventID] = true
	}
	// Both members own partitions before the events come.
	pulsetest.WaitFor(t, 30*time.Second, "both consumers in the group", func() error {
		for _, c := range []*pulsetest.Proc{killed, stopped} {
			if !strings.Contains(c.Logs(), "partitions assigned") {
				return fmt.Errorf("%s has no partitions yet", c.Name())
			}
		}
		return nil
	})
	if err := p.ProduceBatch(ctx, batch, event.SourceProducer, "retry-kill"); err != nil {
		t.Fatalf("produce: %v", err)
	}

	var saved map[string]savedRetry
	pulsetest.WaitFor(t, 60*time.Second, "every failing event's first failure in the retry log", func() error {
		if saved, err = retryRows(ctx, dbURL); err != nil {
			return err
		}
		if len(saved) < len(failing) {
			return fmt.Errorf("%d of %d saved", len(saved), len(failing))
		}
		return nil
	})
	killed.Kill()
	killedAt := time.Now()
	if err := stopped.Stop(); err != nil {
		t.Logf("c2 stopped: %v", err)
	}
	earliest := time.Time{}
	owners := map[string]int{}
	for id, s := range saved {
		if !failing[id] || s.retries != 1 || len(s.attempts) != 1 {
			t.Fatalf("retry log row of %s: %d retries, %d attempts; want a failing event's first failure", id, s.retries, len(s.attempts))
		}
		owners[s.attempts[0].ConsumerID]++
		if earliest.IsZero() || s.due.Before(earliest) {
			earliest = s.due
		}
	}
	if !earliest.After(killedAt) {
		t.Fatalf("a retry came due (%s) before the kill", earliest)
	}
	t.Logf("SIGKILL of c1 and SIGTERM of c2 with %d retries saved (first attempts by %v), due from %s on",
		len(saved), owners, earliest.Sub(killedAt).Round(time.Millisecond))

	// Started over, the 100 ms backoff would dead-letter them within a
	// second of the takeover.
	consume("c3", 100*time.Millisecond)
	var normal []*event.Event
	for i := range 10 {
		e := gen.Next()
		e.UserID = fmt.Sprintf("retry-kill-normal-%d", i)
		e.ShouldFail, e.DelaySeconds = false, 0
		normal = append(normal, &e)
	}
	if err := p.ProduceBatch(ctx, normal, event.SourceProducer, "retry-kill-normal"); err != nil {
		t.Fatalf("produce: %v", err)
	}
	pulsetest.WaitFor(t, 60*time.Second, "the normal events stored", func() error {
		stored, err := storedIDs(ctx, dbURL, "events")
		if err != nil {
			return err
		}
		for _, e := range normal {
			if stored[e.EventID] != 1 {
				return fmt.Errorf("%s stored %d times", e.EventID, stored[e.EventID])
			}
		}
		return nil
	})
	storedNormal := time.Now()
	logged, err := loggedMessages(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	early := 0
	for id := range failing {
		if _, ok := logged[id]; ok {
			early++
		}
	}
	// The normal events are stored as soon as c3 owns the partitions;
	// the failing events wait for their due times.
	if storedNormal.Before(earliest) && early > 0 {
		t.Errorf("%d failing events finished before their due time while other keys were stored", early)
	}
	t.Logf("normal events stored %s after the kill; first retry due %s after it",
		storedNormal.Sub(killedAt).Round(time.Millisecond), earliest.Sub(killedAt).Round(time.Millisecond))

	n := checkDeadLetters(t, addr, dbURL, failing)
	if logged, err = loggedMessages(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	for id := range failing {
		m, s := logged[id], saved[id]
		if m.status != string(event.StatusDeadLettered) || m.retries != 3 || len(m.attempts) != 4 {
			t.Errorf("%s: %q after %d retries and %d attempts, want dead_lettered after 3 and 4 (the budget went on)", id, m.status, m.retries, len(m.attempts))
			continue
		}
		if a := m.attempts[0]; !a.StartedAt.Equal(s.attempts[0].StartedAt) || a.ConsumerID != s.attempts[0].ConsumerID {
			t.Errorf("%s: attempt 1 by %s at %s, want the first owner's: %s at %s", id, a.ConsumerID, a.StartedAt, s.attempts[0].ConsumerID, s.attempts[0].StartedAt)
		}
		if m.attempts[1].StartedAt.Before(s.due) {
			t.Errorf("%s: attempt 2 at %s, before its saved due time %s", id, m.attempts[1].StartedAt, s.due)
		}
		for _, a := range m.attempts[1:] {
			if a.ConsumerID != "c3" {
				t.Errorf("%s: attempt %d by %q, want c3", id, a.N, a.ConsumerID)
			}
		}
	}
	left, err := retryRows(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("retry log after the dead letters: %d rows", len(left))
	}
	t.Logf("%d failing events mid-retry through a SIGKILL and a SIGTERM: %d dead letters, each after 4 attempts, the second at or after its saved due time",
		len(failing), n)
}
