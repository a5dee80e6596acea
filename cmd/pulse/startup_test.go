package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/test/pulsetest"
)

// silentKafka accepts connections and never answers, so a start-up that
// reaches Kafka waits there until it is stopped.
func silentKafka(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return ln.Addr().String()
}

// TestSignalDuringStartUpIsACleanStop: a consumer stopped by SIGTERM while
// it compared the store with the group's offsets exited 1 with "context
// canceled", as if it had failed (the rebalance storm's graceful leaves
// found it).
func TestSignalDuringStartUpIsACleanStop(t *testing.T) {
	kafka := silentKafka(t)
	for _, args := range [][]string{
		{"consume", "--bootstrap-servers", kafka, "--database-url", filepath.Join(t.TempDir(), "pulse.db")},
		{"serve", "--addr", "127.0.0.1:0", "--bootstrap-servers", kafka, "--data-dir", t.TempDir()},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var out, errOut pulsetest.Buffer
		done := make(chan int, 1)
		go func() { done <- run(ctx, args, &out, &errOut) }()
		time.Sleep(300 * time.Millisecond) // inside start-up: Kafka never answers
		cancel()
		select {
		case code := <-done:
			if code != 0 || !strings.Contains(errOut.String(), "stopped during start-up") {
				t.Errorf("pulse %s stopped during start-up: exit %d, want 0 and a clean stop:\n%s", args[0], code, errOut.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("pulse %s did not stop after cancel", args[0])
		}
	}
}
