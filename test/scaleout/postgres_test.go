package scaleout

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/test/pulsetest"
)

// pgDatabase creates a database no other test uses, dropped when the test
// ends. The seed's DB_* variables name a database, not a schema, so the
// test of them needs a database of its own.
func pgDatabase(t *testing.T) string {
	t.Helper()
	name := "scaleout_" + suffix(t)
	conn := pgConn(t, pgBase)
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return name
}

// TestServePostgres runs `pulse serve` (embedded broker, in-process
// consumers) on PostgreSQL chosen by the environment: DATABASE_URL, and
// the seed's DB_NAME/DB_USER/DB_HOST/DB_PORT. Events posted to the API
// reach PostgreSQL, the dashboard and the statistics, and a restarted
// server rebuilds its statistics from PostgreSQL.
func TestServePostgres(t *testing.T) {
	t.Parallel()
	t.Run("DATABASE_URL", func(t *testing.T) {
		t.Parallel()
		schema, url := pgSchema(t)
		db := pgConn(t, pgBase)
		servePostgres(t, []string{"DATABASE_URL=" + url}, func() (int, error) { return countEvents(db, schema) })
	})
	t.Run("DB_variables", func(t *testing.T) {
		t.Parallel()
		name := pgDatabase(t)
		env := []string{"DB_NAME=" + name, "DB_USER=postgres", "DB_HOST=127.0.0.1", "DB_PORT=5432"}
		db := pgConn(t, "postgres://postgres@127.0.0.1:5432/"+name+"?sslmode=disable")
		servePostgres(t, env, func() (int, error) { return countEvents(db, "public") })
	})
}

func servePostgres(t *testing.T, env []string, stored func() (int, error)) {
	args := []string{"--broker-addr", "127.0.0.1:0", "--consumers", "2"}
	srv, web := startServe(t, "serve", env, args...)
	if rec := waitLog(t, srv, "store opened", 5*time.Second); rec["backend"] != "postgres" {
		t.Fatalf("serve opened a %v store, want postgres: %v", rec["backend"], rec)
	}
	tab := openDashboard(t, "dashboard", web)

	ids := postBatch(t, web, 40)
	var one struct {
		EventID string `json:"event_id"`
	}
	if err := postJSON(web+"/api/events/create/", map[string]any{"user_id": "u1", "event_type": "page_view", "element_id": "home"}, 201, &one); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, one.EventID)
	want := make(map[string]bool)
	for _, id := range ids {
		want[id] = true
	}

	pulsetest.WaitFor(t, 30*time.Second, fmt.Sprintf("%d events in PostgreSQL", len(ids)), func() error {
		n, err := stored()
		if err != nil {
			return err
		}
		if n != len(ids) {
			return fmt.Errorf("%d stored", n)
		}
		return nil
	})
	pulsetest.WaitFor(t, 10*time.Second, "statistics", func() error {
		var l latest
		if err := getJSON(web+"/api/events/latest/?limit=100", &l); err != nil {
			return err
		}
		if l.Stats.TotalEvents != len(ids) || len(l.Events) != len(ids) || l.Stats.EventTypes["page_view"] != 1 {
			return fmt.Errorf("total_events %d, %d events listed, types %v", l.Stats.TotalEvents, len(l.Events), l.Stats.EventTypes)
		}
		return nil
	})
	pulsetest.WaitFor(t, 10*time.Second, "every event on the dashboard", func() error { return tab.check(want) })

	if err := srv.Stop(); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM", err)
	}
	_, web = startServe(t, "serve-again", env, args...)
	var l latest
	if err := getJSON(web+"/api/events/latest/?limit=1", &l); err != nil {
		t.Fatal(err)
	}
	if l.Stats.TotalEvents != len(ids) {
		t.Fatalf("after a restart total_events is %d, want %d from PostgreSQL", l.Stats.TotalEvents, len(ids))
	}
}
