package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// wsClient is a dashboard on /ws/events/ that counts what it is sent and
// how old each event is on arrival (now minus the event's timestamp) and
// when it was stored (created_at minus timestamp).
type wsClient struct {
	conn *websocket.Conn

	mu        sync.Mutex
	delivered int64
	dropped   int64
	toWS      []time.Duration
	toStore   []time.Duration
	record    bool
	errs      atomic.Int64
}

func dialWS(ctx context.Context, in *instance, record bool) (*wsClient, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, "ws://"+in.Addr()+"/ws/events/", nil)
	if err != nil {
		return nil, fmt.Errorf("dial websocket: %w", err)
	}
	conn.SetReadLimit(16 << 20)
	return &wsClient{conn: conn, record: record}, nil
}

// wsFrame is what a recording client decodes of a frame: the two times of
// each event and the count of sampled ones. Decoding whole events took a
// quarter of the CPU of a 1,000-client run, CPU the server is measured on.
type wsFrame struct {
	Type    string   `json:"type"`
	Event   *stamps  `json:"event"`
	Events  []stamps `json:"events"`
	Dropped int64    `json:"dropped"`
}

// stamps are an event's produce time and stored time.
type stamps struct {
	Timestamp time.Time `json:"timestamp"`
	CreatedAt time.Time `json:"created_at"`
}

// read consumes frames until the connection ends.
// readInBackground reads frames until the returned stop is called, which
// waits for the reader to end.
func (c *wsClient) readInBackground(ctx context.Context) (stop func()) {
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.read(rctx) })
	return func() {
		cancel()
		wg.Wait()
	}
}

func (c *wsClient) read(ctx context.Context) {
	// One buffer per client, reused for every frame: a thousand clients
	// allocating each frame anew would measure the collector, not Pulse.
	var buf bytes.Buffer
	for {
		_, rd, err := c.conn.Reader(ctx)
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(rd); err != nil {
			return
		}
		data := buf.Bytes()
		now := time.Now()
		if !c.record {
			// Counting only: a light scan instead of a full decode, so
			// that a thousand in-process clients do not take the CPU the
			// server is measured on.
			n, dropped, ok := countFrame(data)
			if !ok {
				c.errs.Add(1)
				continue
			}
			c.mu.Lock()
			c.delivered += n
			c.dropped += dropped
			c.mu.Unlock()
			continue
		}
		var f wsFrame
		if err := json.Unmarshal(data, &f); err != nil {
			c.errs.Add(1)
			continue
		}
		var evs []stamps
		switch f.Type {
		case "new_event":
			if f.Event != nil {
				evs = []stamps{*f.Event}
			}
		case "new_events":
			evs = f.Events
		default:
			continue
		}
		c.mu.Lock()
		c.delivered += int64(len(evs))
		c.dropped += f.Dropped
		if c.record {
			for i := range evs {
				c.toWS = append(c.toWS, now.Sub(evs[i].Timestamp))
				c.toStore = append(c.toStore, evs[i].CreatedAt.Sub(evs[i].Timestamp))
			}
		}
		c.mu.Unlock()
	}
}

// reset forgets what was counted so far (the warm-up).
func (c *wsClient) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delivered, c.dropped, c.toWS, c.toStore = 0, 0, nil, nil
}

func (c *wsClient) snapshot() (delivered, dropped int64, toWS, toStore []time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.delivered, c.dropped, append([]time.Duration(nil), c.toWS...), append([]time.Duration(nil), c.toStore...)
}
