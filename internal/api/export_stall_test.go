package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/live"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// TestAStalledExportIsCutOff: a client that asks for the events' or the
// audit log's export and then stops reading is cut off once it has taken
// no chunk for ExportWriteTimeout; it no longer holds the handler and its
// connection for as long as it likes.
func TestAStalledExportIsCutOff(t *testing.T) {
	const timeout = 300 * time.Millisecond
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// Enough rows to fill both sockets' buffers many times over.
	env := &explorerEnv{t: t, db: db}
	env.seedExplorer(30_000)
	for i := range 3_000 {
		if err := db.AppendAudit(t.Context(), store.AuditEntry{At: time.Now().UTC(), Actor: "ada@example.com",
			Action: "POST /api/load/", Outcome: store.AuditOK, Detail: strings.Repeat("x", 2000) + fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s := New(Config{Loopback: true, ExportWriteTimeout: timeout},
		Deps{Store: db, Stats: live.NewStats(store.Totals{}, nil), Explorer: db, Audit: db}, log, prometheus.NewRegistry())
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")

	for path, said := range map[string]string{
		"/api/events/export/?format=csv":   "export=events",
		"/api/audit/export/?format=ndjson": "export=audit",
	} {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			if err != nil {
				return err
			}
			return serr
		}}
		conn, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
		// Read nothing until the server gave up, then drain: the transfer
		// ends early, broken, instead of the whole export.
		deadline := time.Now().Add(20 * time.Second)
		for !cutOff(logs.String(), said) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: a client that stopped reading still holds the export after 20s; logs: %s", path, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, conn)
		if err != nil && !strings.Contains(err.Error(), "reset") {
			t.Errorf("%s: draining after the cut: %v", path, err)
		}
		if n > 4<<20 {
			t.Errorf("%s: %d bytes arrived after the cut: the export was not cut", path, n)
		}
		conn.Close()
	}
}

// cutOff reports whether logs tell of an export (export=events, say) cut
// off.
func cutOff(logs, export string) bool {
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `msg="export cut off"`) && strings.Contains(line, export) {
			return true
		}
	}
	return false
}
