package scaleout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// dashboard is a WebSocket client of /ws/events/ that counts how often it
// was sent each event, as a browser tab would show them.
type dashboard struct {
	name    string
	mu      sync.Mutex
	seen    map[string]int
	dropped int
	initial bool
	readErr error
	cancel  context.CancelFunc
	done    chan struct{}
}

// frame is the part of a server message the test reads.
type frame struct {
	Type  string `json:"type"`
	Event struct {
		EventID string `json:"event_id"`
	} `json:"event"`
	Events []struct {
		EventID string `json:"event_id"`
	} `json:"events"`
	Dropped int `json:"dropped"`
}

// openDashboard connects to base's WebSocket and waits for initial_data,
// after which every stored event must arrive. It closes when the test
// ends.
func openDashboard(t testing.TB, name, base string) *dashboard {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dialCtx, dialCancel := context.WithTimeout(ctx, 10*time.Second)
	defer dialCancel()
	conn, _, err := websocket.Dial(dialCtx, "ws"+strings.TrimPrefix(base, "http")+"/ws/events/", nil)
	if err != nil {
		cancel()
		t.Fatalf("dashboard %s: dial: %v", name, err)
	}
	conn.SetReadLimit(16 << 20)
	d := &dashboard{name: name, seen: make(map[string]int), cancel: cancel, done: make(chan struct{})}
	go d.read(ctx, conn)
	t.Cleanup(func() {
		cancel()
		<-d.done
	})
	pulsetest.WaitFor(t, 10*time.Second, "initial_data on "+name, func() error {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.readErr != nil {
			return d.readErr
		}
		if !d.initial {
			return errors.New("no initial_data yet")
		}
		return nil
	})
	return d
}

func (d *dashboard) read(ctx context.Context, conn *websocket.Conn) {
	defer close(d.done)
	defer conn.CloseNow()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			d.mu.Lock()
			d.readErr = fmt.Errorf("dashboard %s: read: %w", d.name, err)
			d.mu.Unlock()
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			d.mu.Lock()
			d.readErr = fmt.Errorf("dashboard %s: decode %s: %w", d.name, data, err)
			d.mu.Unlock()
			return
		}
		d.mu.Lock()
		switch f.Type {
		case "initial_data":
			if d.initial {
				// A resync means the client fell behind: the events it
				// missed are in the snapshot, not in new_event frames.
				d.readErr = fmt.Errorf("dashboard %s: resynced with initial_data", d.name)
			}
			d.initial = true
		case "new_event":
			d.seen[f.Event.EventID]++
		case "new_events":
			for _, e := range f.Events {
				d.seen[e.EventID]++
			}
			d.dropped += f.Dropped
		}
		d.mu.Unlock()
	}
}

// check compares what the dashboard was sent with want: every id exactly
// once, nothing else, nothing dropped.
func (d *dashboard) check(want map[string]bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.readErr != nil {
		return d.readErr
	}
	if d.dropped > 0 {
		return fmt.Errorf("dashboard %s: %d events dropped", d.name, d.dropped)
	}
	var missing, twice, extra int
	for id := range want {
		switch n := d.seen[id]; {
		case n == 0:
			missing++
		case n > 1:
			twice++
		}
	}
	for id := range d.seen {
		if !want[id] {
			extra++
		}
	}
	if missing+twice+extra > 0 {
		return fmt.Errorf("dashboard %s: of %d events, %d not seen, %d seen more than once, %d seen but not stored",
			d.name, len(want), missing, twice, extra)
	}
	return nil
}
