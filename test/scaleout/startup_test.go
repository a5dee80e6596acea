package scaleout

import (
	"net"
	"strings"
	"testing"
	"time"
)

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestStartWithoutKafka starts consume and API-only serve processes
// pointed at an address where no broker listens, as happens when a
// container starts before Kafka: they must exit with an error that names
// Kafka, not crash.
func TestStartWithoutKafka(t *testing.T) {
	t.Parallel()
	_, dbURL := pgSchema(t)
	addr := closedAddr(t)
	for name, args := range map[string][]string{
		"consume": {"consume", "--consumer-id", "lonely"},
		"serve":   {"serve", "--addr", "127.0.0.1:0", "--consumers", "0"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := runPulse(t, 60*time.Second, nil, append(args, "--bootstrap-servers", addr, "--database-url", dbURL, "--data-dir", t.TempDir())...)
			if err == nil {
				t.Fatalf("pulse %s without Kafka exited 0:\n%s", name, out)
			}
			if strings.Contains(out, "panic:") {
				t.Fatalf("pulse %s without Kafka crashed instead of returning an error:\n%s", name, out)
			}
			if !strings.Contains(strings.ToLower(out), "kafka") && !strings.Contains(out, addr) {
				t.Errorf("pulse %s without Kafka: the error names neither Kafka nor %s:\n%s", name, addr, out)
			}
		})
	}
}
