package chaos

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/generator"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// savedRetry is a retry-log row as the test reads it from the SQLite file.
type savedRetry struct {
	retries  int
	due      time.Time
	attempts []event.Attempt
}

// retryRows reads the retry log of the SQLite store at path, by event id.
func retryRows(ctx context.Context, path string) (map[string]savedRetry, error) {
	db, err := sql.Open("sqlite3", path+"?_busy_timeout=10000")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT event_id, retries, next_retry_at, attempts FROM retries`)
	if err != nil {
		return nil, fmt.Errorf("read the retry log: %w", err)
	}
	defer rows.Close()
	out := map[string]savedRetry{}
	for rows.Next() {
		var (
			id       string
			s        savedRetry
			due      int64
			attempts sql.NullString
		)
		if err := rows.Scan(&id, &s.retries, &due, &attempts); err != nil {
			return nil, err
		}
		s.due = time.UnixMicro(due)
		if attempts.Valid {
			if err := json.Unmarshal([]byte(attempts.String), &s.attempts); err != nil {
				return nil, fmt.Errorf("attempts of %s: %w", id, err)
			}
		}
		out[id] = s
	}
	return out, rows.Err()
}

// storedAttempts reads the attempts of the processing-log row of id.
func storedAttempts(ctx context.Context, path, id string) (status string, retries int, attempts []event.Attempt, err error) {
	db, err := sql.Open("sqlite3", path+"?_busy_timeout=10000")
	if err != nil {
		return "", 0, nil, err
	}
	defer db.Close()
	var a sql.NullString
	err = db.QueryRowContext(ctx, `SELECT status, retries, attempts FROM messages WHERE event_id = ?`, id).Scan(&status, &retries, &a)
	if err == nil && a.Valid {
		err = json.Unmarshal([]byte(a.String), &attempts)
	}
	return status, retries, attempts, err
}

// TestRetriesSurviveSIGKILL kills a `pulse consume` process with SIGKILL
// while failing events wait for their first retry, and starts it again
// with a backoff so short that a budget started over would dead-letter
// them at once. The restarted process resumes each retry at the due time
// the killed one saved (not before: other keys' events are stored
// meanwhile), goes on with the budget left (4 attempts in all, the first
// one the killed process's) and dead-letters each exactly once; nothing
// failing is stored, and the retry log ends empty.
func TestRetriesSurviveSIGKILL(t *testing.T) {
	dir := t.TempDir()
	_, addr := startBroker(t, filepath.Join(dir, "broker"))
	dbPath := filepath.Join(dir, "pulse.db")
	group := "chaos_retry_kill"
	consume := func(name string, retryBase time.Duration) *pulsetest.Proc {
		return startProc(t, name, "consume", "--bootstrap-servers", addr, "--database-url", dbPath,
			"--consumer-group", group, "--consumer-id", "c1",
			"--retry-base", retryBase.String(), "--retry-max", retryBase.String())
	}
	// The first retry is due 20-40 s after the first attempt: past the
	// ~10 s the group takes to give a killed member's partitions to its
	// successor.
	first := consume("consumer before the kill", 40*time.Second)

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
	if err := p.ProduceBatch(ctx, batch, event.SourceProducer, "retry-kill"); err != nil {
		t.Fatalf("produce: %v", err)
	}

	var saved map[string]savedRetry
	pulsetest.WaitFor(t, 60*time.Second, "every failing event's first failure in the retry log", func() error {
		if saved, err = retryRows(ctx, dbPath); err != nil {
			return err
		}
		if len(saved) < len(failing) {
			return fmt.Errorf("%d of %d saved", len(saved), len(failing))
		}
		return nil
	})
	first.Kill()
	killed := time.Now()
	earliest := time.Time{}
	for id, s := range saved {
		if !failing[id] || s.retries != 1 || len(s.attempts) != 1 {
			t.Fatalf("retry log row of %s: %d retries, %d attempts; want a failing event's first failure", id, s.retries, len(s.attempts))
		}
		if earliest.IsZero() || s.due.Before(earliest) {
			earliest = s.due
		}
	}
	if !earliest.After(killed) {
		t.Fatalf("a retry came due (%s) before the kill", earliest)
	}
	t.Logf("SIGKILL with %d retries saved, due from %s on", len(saved), earliest.Sub(killed).Round(time.Millisecond))

	// Started over, the 100 ms backoff would dead-letter them within a
	// second of the restart.
	consume("consumer after the kill", 100*time.Millisecond)
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
		stored, err := storedIDs(ctx, dbPath, "events")
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
	msgs, err := storedIDs(ctx, dbPath, "messages")
	if err != nil {
		t.Fatal(err)
	}
	early := 0
	for id := range failing {
		if msgs[id] > 0 {
			early++
		}
	}
	// The normal events are stored as soon as the successor owns the
	// partitions; the failing events wait for their due times.
	if storedNormal.Before(earliest) && early > 0 {
		t.Errorf("%d failing events finished before their due time while other keys were stored", early)
	}
	t.Logf("normal events stored %s after the kill; first retry due %s after it",
		storedNormal.Sub(killed).Round(time.Millisecond), earliest.Sub(killed).Round(time.Millisecond))

	n := checkDeadLetters(t, addr, dbPath, failing)
	for id := range failing {
		status, retries, attempts, err := storedAttempts(ctx, dbPath, id)
		if err != nil {
			t.Fatalf("read %s: %v", id, err)
		}
		s := saved[id]
		if status != string(event.StatusDeadLettered) || retries != 3 || len(attempts) != 4 {
			t.Errorf("%s: %s after %d retries and %d attempts, want dead_lettered after 3 and 4 (the budget went on)", id, status, retries, len(attempts))
			continue
		}
		if !attempts[0].StartedAt.Equal(s.attempts[0].StartedAt) {
			t.Errorf("%s: attempt 1 at %s, want the killed process's at %s", id, attempts[0].StartedAt, s.attempts[0].StartedAt)
		}
		if attempts[1].StartedAt.Before(s.due) {
			t.Errorf("%s: attempt 2 at %s, before its saved due time %s", id, attempts[1].StartedAt, s.due)
		}
	}
	left, err := retryRows(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("retry log after the dead letters: %d rows", len(left))
	}
	t.Logf("%d failing events killed mid-retry: %d dead letters, each after 4 attempts, the second at or after its saved due time",
		len(failing), n)
}
