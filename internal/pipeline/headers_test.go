package pipeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

// Headers any Kafka client may set are copied into the store and the
// logs only when sane: control characters (ESC sequences, NUL, C1),
// invisible format characters (bidi overrides) and invalid UTF-8 are
// dropped rather than stored as they are.
func TestInsaneHeadersNotStored(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		requestID, replayOf string
		keep                bool
	}{
		{"req-ok-1", "user_events_dlq/0/1", true},
		{"req\x1b[31mred", "", false},
		{"req\x00nul", "", false},
		{"req\u202egnp.exe", "", false},
		{"req\u0085next", "", false},
		{"req\xffbad", "", false},
		{"req-ok-2", "user_events_dlq/0/\x07", true},
	}
	for i, c := range cases {
		hs := []string{record.HeaderRequestID, c.requestID}
		if c.replayOf != "" {
			hs = append(hs, record.HeaderReplayOf, c.replayOf)
		}
		e.produce(eventRecord(t, int32(i%3), userEvent(fmt.Sprintf("hdr-%d", i), fmt.Sprintf("u%d", i), event.TypePageView), hs...))
	}
	e.start(e.config("c1"), nil)
	eventually(t, 10*time.Second, "every event stored", func() bool { return e.eventCount() == int64(len(cases)) })
	for i, c := range cases {
		m, ok := e.message(fmt.Sprintf("hdr-%d", i))
		if !ok {
			t.Fatalf("hdr-%d not stored", i)
		}
		want := ""
		if c.keep {
			want = c.requestID
		}
		if m.RequestID != want {
			t.Errorf("request_id header %q stored as %q, want %q", c.requestID, m.RequestID, want)
		}
		wantReplay := c.replayOf
		if i == len(cases)-1 {
			wantReplay = "" // a BEL in it
		}
		if m.ReplayOf != wantReplay {
			t.Errorf("replay_of header %q stored as %q, want %q", c.replayOf, m.ReplayOf, wantReplay)
		}
	}
}
