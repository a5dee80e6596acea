package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/test/pulsetest"
)

// TestStoreLostBesideTheLog deletes, or empties, the SQLite file of a
// `pulse serve` whose Kafka log (and consumer group offsets) it keeps, as
// an operator clearing space or restoring the wrong file would. Before,
// Pulse started healthy with 0 rows and never stored those events again.
// Now it refuses to start, naming the partitions and what to do; with
// --store-behind reprocess it moves the group back and stores every event
// again, once.
func TestStoreLostBesideTheLog(t *testing.T) {
	for _, lose := range []string{"deleted", "emptied"} {
		t.Run(lose, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "pulse.db")
			httpAddr, brokerAddr := pulsetest.FreeAddr(t), pulsetest.FreeAddr(t)
			s := startServe(t, dir, httpAddr, brokerAddr)
			var events []string
			for i := range 60 {
				events = append(events, fmt.Sprintf(`{"user_id":"lost-%d","event_type":"page_view","element_id":"e%d"}`, i%7, i))
			}
			resp, body := request(t, "POST", "http://"+httpAddr+"/api/events/batch/", `{"events":[`+strings.Join(events, ",")+`]}`,
				"Content-Type", "application/json")
			if resp.StatusCode != 202 && resp.StatusCode != 201 {
				t.Fatalf("batch: %d %s", resp.StatusCode, body)
			}
			waitCounts(t, "serve", httpAddr, 60)
			if err := s.Stop(); err != nil {
				t.Fatalf("serve did not stop cleanly: %v", err)
			}

			for _, f := range []string{db, db + "-wal", db + "-shm"} {
				if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			if lose == "emptied" {
				if err := os.WriteFile(db, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}

			refused := startProc(t, "serve-refused", "serve", "--addr", httpAddr, "--broker-addr", brokerAddr, "--data-dir", dir)
			select {
			case <-refused.Done():
			case <-time.After(60 * time.Second):
				t.Fatal("serve started beside a log its store has lost")
			}
			msg := lastLine(refused.Logs(), "pulse serve: ")
			if refused.Err() == nil || !strings.Contains(msg, "lost records") || !strings.Contains(msg, "--store-behind reprocess") ||
				!strings.Contains(msg, "partition") {
				t.Fatalf("serve beside a lost store: exit %v, error %q; want a refusal naming the partitions and --store-behind", refused.Err(), msg)
			}

			again := startServe(t, dir, httpAddr, brokerAddr, "--store-behind", "reprocess")
			waitCounts(t, "serve with --store-behind reprocess", httpAddr, 60)
			stored, err := storedIDs(pulsetest.Context(t, 30*time.Second), db, "events")
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != 60 {
				t.Fatalf("%d events stored again, want 60", len(stored))
			}
			if err := again.Stop(); err != nil {
				t.Fatalf("serve did not stop cleanly: %v", err)
			}
			// The store holds the log again: a plain start is fine.
			startServe(t, dir, httpAddr, brokerAddr)
			waitCounts(t, "serve after the reprocessing", httpAddr, 60)
		})
	}
}

// lastLine is the last line of out that starts with prefix, "" if none.
func lastLine(out, prefix string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], prefix) {
			return lines[i]
		}
	}
	return ""
}
