package live

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/privacy"
	"github.com/pulse-dev/pulse/internal/store"
)

// Server-to-client frames of docs/api.md.
type (
	initialFrame struct {
		Type     string          `json:"type"`
		Events   []event.Stored  `json:"events"`
		Stats    StatsJSON       `json:"stats"`
		Messages []event.Message `json:"messages"`
	}
	newEventFrame struct {
		Type  string       `json:"type"`
		Event event.Stored `json:"event"`
	}
	newEventsFrame struct {
		Type    string         `json:"type"`
		Events  []event.Stored `json:"events"`
		Dropped int            `json:"dropped"`
	}
	statsFrame struct {
		Type  string    `json:"type"`
		Stats StatsJSON `json:"stats"`
	}
	queueFrame struct {
		Type     string          `json:"type"`
		Messages []event.Message `json:"messages"`
	}
	markerFrame struct {
		Type   string       `json:"type"`
		Marker event.Marker `json:"marker"`
	}
)

// frame is an encoded server message, shared by every client it goes to.
type frame struct {
	kind string
	data []byte
	// masked is data with the personal fields masked, for the clients that
	// may not see them (see WithMasked). It is data itself for a frame
	// that holds none, and nil when no such client was connected as the
	// frame was made: one that came since gets a fresh initial_data
	// instead, never data.
	masked []byte
}

// encode encodes a frame that holds no personal value.
func encode(kind string, v any) (frame, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return frame{}, err
	}
	return frame{kind: kind, data: data, masked: data}, nil
}

// encodePersonal encodes a frame that holds personal values: v for the
// clients that may see them and, while any client that may not is
// connected, masked(m) for those.
func (h *Hub) encodePersonal(kind string, v any, masked func(m *privacy.Masker) any) (frame, error) {
	f, err := encode(kind, v)
	f.masked = nil
	if err != nil || !h.anyMasked() {
		return f, err
	}
	m := h.masker()
	if m == nil {
		return f, nil
	}
	f.masked, err = json.Marshal(masked(m))
	return f, err
}

// masker is the masking in force, or nil when the hub has none.
func (h *Hub) masker() *privacy.Masker {
	if h.cfg.Masking == nil {
		return nil
	}
	return h.cfg.Masking()
}

// anyMasked reports whether a client that may not see personal values is
// connected.
func (h *Hub) anyMasked() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.masked > 0
}

// maskedEvents returns a masked copy of events.
func maskedEvents(m *privacy.Masker, events []event.Stored) []event.Stored {
	out := slices.Clone(events)
	m.Events(out)
	return out
}

// maskedMessages returns a masked copy of msgs.
func maskedMessages(m *privacy.Masker, msgs []event.Message) []event.Message {
	out := slices.Clone(msgs)
	m.Messages(out)
	return out
}

// initial builds the initial_data frame from the store and the stats,
// with the personal fields masked when masked is set. A masked frame that
// cannot be masked (the hub has no masking) carries no events or
// messages.
func (h *Hub) initial(ctx context.Context, masked bool) frame {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg := initialFrame{Type: "initial_data", Events: []event.Stored{}, Messages: []event.Message{}}
	if h.stats != nil {
		msg.Stats = h.stats.Snapshot()
		msg.Messages = append(msg.Messages, h.stats.InFlight()...)
	} else {
		msg.Stats = StatsJSON{EventTypes: map[string]int64{}, TopElements: []ElementCount{}}
	}
	if h.reader != nil {
		events, err := h.reader.LatestEvents(ctx, h.cfg.InitialEvents)
		if err != nil {
			h.log.Warn("initial_data: read latest events", "err", err)
		} else if events != nil {
			msg.Events = events
		}
		stored, err := h.reader.Messages(ctx, store.MessageFilter{Limit: h.cfg.InitialMessages})
		if err != nil {
			h.log.Warn("initial_data: read messages", "err", err)
		}
		msg.Messages = append(msg.Messages, stored...)
	}
	if len(msg.Messages) > h.cfg.InitialMessages {
		msg.Messages = msg.Messages[:h.cfg.InitialMessages]
	}
	if masked {
		if m := h.masker(); m != nil {
			m.Events(msg.Events)
			m.Messages(msg.Messages)
		} else {
			msg.Events, msg.Messages = []event.Stored{}, []event.Message{}
		}
	}
	f, err := encode("initial_data", msg)
	if err != nil {
		// A row that cannot be encoded must not blank every dashboard.
		msg.Events = h.encodable("initial_data", msg.Events)
		msg.Messages = h.encodableMessages("initial_data", msg.Messages)
		if f, err = encode("initial_data", msg); err != nil {
			h.log.Error("encode initial_data", "err", err)
		}
	}
	return f
}

// encodable returns events without those JSON cannot encode (a time past
// the year 9999, stored before event timestamps were bounded, or taken
// from a Kafka record's timestamp), logging each one left out of a frame
// of kind.
func (h *Hub) encodable(kind string, events []event.Stored) []event.Stored {
	return slices.DeleteFunc(events, func(e event.Stored) bool {
		_, err := json.Marshal(&e)
		if err != nil {
			h.log.Error("event left out of a frame: cannot encode it", "frame", kind, "id", e.ID, "event_id", e.EventID, "err", err)
		}
		return err != nil
	})
}

// encodableMessages is encodable for processing-log messages.
func (h *Hub) encodableMessages(kind string, msgs []event.Message) []event.Message {
	return slices.DeleteFunc(msgs, func(m event.Message) bool {
		_, err := json.Marshal(&m)
		if err != nil {
			h.log.Error("message left out of a frame: cannot encode it", "frame", kind, "id", m.ID, "event_id", m.EventID, "err", err)
		}
		return err != nil
	})
}
