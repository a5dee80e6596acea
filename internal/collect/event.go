package collect

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/record"
	"github.com/pulse-dev/pulse/internal/store"
)

// record checks one event of a batch and builds its record: the source
// set from the key, the time corrected by skew (or now when absent), the
// skew correction noted for the ledger. It returns the event as sent
// to Kafka.
func (c *Collector) record(src store.Source, raw []byte, now time.Time, skew time.Duration, requestID string) (*kgo.Record, event.Event, error) {
	e, err := event.Decode(raw)
	if err != nil {
		return nil, e, err
	}
	switch {
	case e.SourceID != "":
		return nil, e, &event.Error{Field: "source_id", Reason: "is set from the write key, not by the client"}
	case e.DelaySeconds != 0:
		return nil, e, &event.Error{Field: "delay_seconds", Reason: "is a simulation field, not accepted by /api/collect"}
	case e.ShouldFail:
		return nil, e, &event.Error{Field: "should_fail", Reason: "is a simulation field, not accepted by /api/collect"}
	}
	e.SourceID = src.ID
	if e.EventID == "" {
		// A client that sends no id gets one, but its retries are then
		// other events: pulse.js always sends one.
		e.EventID = event.NewID()
	}
	var dl ledger.Delivery
	// An absent time is left to the producer, which fills it with the
	// time it sends.
	if !e.Timestamp.IsZero() && skew != 0 {
		t := e.Timestamp.Add(skew)
		if err := event.CheckTimestamp(t); err != nil {
			return nil, e, err
		}
		e.Timestamp, dl.SkewCorrected = t, true
	}
	rec, err := c.producer.Record(&e, event.SourceCollect, requestID)
	if err != nil {
		return nil, e, err
	}
	rec.Headers = append(rec.Headers, record.DeliveryHeaders(dl)...)
	return rec, e, nil
}
