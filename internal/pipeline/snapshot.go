package pipeline

import (
	"sort"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
)

// Snapshot is a member's state for /api/consumer_metrics/.
type Snapshot struct {
	ConsumerID string  `json:"consumer_id"`
	Group      string  `json:"group"`
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
	// Processed counts records completed and newly stored.
	Processed int64 `json:"processed"`
	// Failed counts failed processing attempts.
	Failed       int64 `json:"failed"`
	Retried      int64 `json:"retried"`
	DeadLettered int64 `json:"dead_lettered"`
	// Duplicates counts finished records that were already stored
	// (redeliveries).
	Duplicates          int64      `json:"duplicates"`
	AvgProcessingTimeMS float64    `json:"avg_processing_time_ms"`
	InFlight            int        `json:"in_flight"`
	LastCommitAt        *time.Time `json:"last_commit_at"`
	// Watermarks are, per owned partition, the lowest unfinished offset
	// (the next offset to commit) and the last committed offset.
	Watermarks []Watermark `json:"watermarks"`
	// HeldKeys are the keys held back now, at most MaxHeldKeys of them;
	// HeldKeysTotal counts them all.
	HeldKeys      []HeldKey `json:"held_keys"`
	HeldKeysTotal int       `json:"held_keys_total"`
}

// Watermark is the commit position of one partition. Offsets are -1 when
// unknown (nothing fetched, nothing committed yet).
type Watermark struct {
	Partition        int32 `json:"partition"`
	LowestUnfinished int64 `json:"lowest_unfinished"`
	Committed        int64 `json:"committed"`
}

// HeldKey is a key whose head record is delayed, retrying or waiting for
// its DLQ produce, with the records queued behind it.
type HeldKey struct {
	Key       string       `json:"key"`
	Partition int32        `json:"partition"`
	Offset    int64        `json:"offset"`
	EventID   string       `json:"event_id"`
	Status    event.Status `json:"status"`
	Waiting   int          `json:"waiting"`
}

// MaxHeldKeys caps Snapshot.HeldKeys.
const MaxHeldKeys = 100

// Snapshot returns the member's current state and totals.
func (c *Consumer) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Snapshot{
		ConsumerID:   c.cfg.ConsumerID,
		Group:        c.cfg.Group,
		Topic:        c.cfg.Topic,
		Partitions:   []int32{},
		Processed:    c.stats.processed,
		Failed:       c.stats.failed,
		Retried:      c.stats.retried,
		DeadLettered: c.stats.deadLettered,
		Duplicates:   c.stats.duplicates,
		InFlight:     c.inFlight,
		Watermarks:   []Watermark{},
		HeldKeys:     []HeldKey{},
	}
	if c.stats.processingCount > 0 {
		s.AvgProcessingTimeMS = c.stats.processingMSSum / float64(c.stats.processingCount)
	}
	if !c.lastCommit.IsZero() {
		t := c.lastCommit.UTC()
		s.LastCommitAt = &t
	}
	for p, ps := range c.parts {
		s.Partitions = append(s.Partitions, p)
		w := Watermark{Partition: p, LowestUnfinished: -1, Committed: -1}
		if off, _, ok := ps.watermark(); ok {
			w.LowestUnfinished = off
		}
		if off, ok := c.committed[p]; ok {
			w.Committed = off
		}
		s.Watermarks = append(s.Watermarks, w)
		for key, q := range ps.keys {
			s.HeldKeysTotal++
			h := q.recs[0]
			s.HeldKeys = append(s.HeldKeys, HeldKey{
				Key: key, Partition: p, Offset: h.kr.Offset, EventID: h.msg.EventID,
				Status: h.msg.Status, Waiting: len(q.recs) - 1,
			})
		}
	}
	sort.Slice(s.Partitions, func(i, j int) bool { return s.Partitions[i] < s.Partitions[j] })
	sort.Slice(s.Watermarks, func(i, j int) bool { return s.Watermarks[i].Partition < s.Watermarks[j].Partition })
	sort.Slice(s.HeldKeys, func(i, j int) bool {
		a, b := s.HeldKeys[i], s.HeldKeys[j]
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		return a.Offset < b.Offset
	})
	if len(s.HeldKeys) > MaxHeldKeys {
		s.HeldKeys = s.HeldKeys[:MaxHeldKeys]
	}
	return s
}

// InFlight returns the processing-log messages of the records being
// processed now: delayed, waiting for a retry, or waiting for their DLQ
// produce. Records that finish at once never appear.
func (c *Consumer) InFlight() []event.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []event.Message
	for _, ps := range c.parts {
		for r := range ps.active {
			out = append(out, r.msg)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset < out[j].Offset
	})
	return out
}
