package api

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A request cut short by its client (a closed tab) is not a server
// failure: it is logged at info, not as an error an operator is paged
// for; the same error while the client still waits is one.
func TestClientGoneIsNotAFailure(t *testing.T) {
	for _, tc := range []struct {
		name       string
		clientGone bool
		wantLevel  string
	}{
		{"client gone", true, "level=INFO"},
		{"client waiting", false, "level=ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			ctx, cancel := context.WithCancel(t.Context())
			if tc.clientGone {
				cancel()
			} else {
				defer cancel()
			}
			r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/collect", nil)
			writeError(httptest.NewRecorder(), r, log, kafkaUnavailable(fmt.Errorf("produce: %w", context.Canceled)))
			if !strings.Contains(buf.String(), tc.wantLevel) {
				t.Fatalf("logged %q, want %s", buf.String(), tc.wantLevel)
			}
		})
	}
}
