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
			// The log lines before it name the address too (the client
			// logs its dial failures), so only the error pulse exits
			// with counts: its last line, "pulse <command>: ...".
			msg := exitError(out, name)
			if msg == "" {
				t.Fatalf("pulse %s without Kafka printed no \"pulse %s: ...\" error line:\n%s", name, name, out)
			}
			if !strings.Contains(msg, "Kafka") || !strings.Contains(msg, addr) {
				t.Errorf("pulse %s without Kafka: the error %q does not name both Kafka and %s", name, msg, addr)
			}
		})
	}
}

// exitError is the error line pulse prints when command fails: the last
// line of out that starts with "pulse <command>: ".
func exitError(out, command string) string {
	prefix := "pulse " + command + ": "
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], prefix) {
			return lines[i]
		}
	}
	return ""
}
