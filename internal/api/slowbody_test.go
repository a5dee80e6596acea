package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// TestSlowBodyIsCutOff sends a request body a byte at a time from raw
// TCP clients: each is answered 408 and closed within the bound (they
// used to stay open as long as they kept trickling), while a normal
// client is served meanwhile.
func TestSlowBodyIsCutOff(t *testing.T) {
	const bound = 500 * time.Millisecond
	env := newEnvWith(t, Config{BodyReadTimeout: bound}, nil, func(d *Deps, _ *kgoProducer, db *sqlite.DB, _ *prometheus.Registry) {
		d.Auth = testAuth(t, db, nil)
	})
	addr := strings.TrimPrefix(env.srv.URL, "http://")

	type result struct {
		status  string
		elapsed time.Duration
		err     error
	}
	results := make(chan result, 5)
	// Ingest, and sign-in: a slow password body must not hold a
	// connection either.
	paths := []string{"/api/events/create/", "/api/auth/login/"}
	for i := range cap(results) {
		go func() {
			path := paths[i%len(paths)]
			start := time.Now()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				results <- result{err: err}
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", path, addr)
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				t := time.NewTicker(50 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						if _, err := conn.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
			_ = conn.SetReadDeadline(time.Now().Add(10 * bound))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				results <- result{err: fmt.Errorf("%s: %w", path, err), elapsed: time.Since(start)}
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			// The server closes the connection after the answer.
			_, err = br.ReadByte()
			// EOF, or a reset when our trickle hit the closed socket.
			if err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
				err = fmt.Errorf("%s: connection not closed after %s: %v", path, resp.Status, err)
			} else {
				err = nil
			}
			results <- result{status: path + " " + resp.Status, elapsed: time.Since(start), err: err}
		}()
	}
	if code := env.post("/api/events/create/", `{"user_id":"u1","event_type":"page_view"}`).status; code != http.StatusCreated {
		t.Errorf("a normal client next to slow ones: %d", code)
	}
	for range cap(results) {
		r := <-results
		if r.err != nil || !strings.Contains(r.status, " 408") {
			t.Errorf("slow body: %q after %v, err %v; want 408 and close within %v", r.status, r.elapsed, r.err, bound)
		}
		if r.elapsed > 4*bound {
			t.Errorf("slow body answered after %v, bound %v", r.elapsed, bound)
		}
	}
}

// TestBodyDeadlineDoesNotOutliveTheBody: a handler still working after
// the body deadline, with the body read, keeps its context: the deadline
// must not reach the server's read of the next request, whose failure
// would cancel it.
func TestBodyDeadlineDoesNotOutliveTheBody(t *testing.T) {
	const bound = 100 * time.Millisecond
	s := New(Config{BodyReadTimeout: bound}, Deps{}, nil, nil)
	h := s.boundBodyRead(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			t.Errorf("read body: %v", err)
		}
		select {
		case <-r.Context().Done():
			t.Errorf("request context cancelled after the body was read: %v", context.Cause(r.Context()))
		case <-time.After(4 * bound): // the handler's work, past the deadline
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
