package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Rewinds of a running consumer group travel on a control topic next to
// the events topic: Kafka accepts an offset commit for a group with
// members only from a member of its current generation, so the members
// themselves move their partitions. The rewinder writes a request; every
// Pulse member of the group reads it, seeks the partitions it owns,
// commits the target with its generation and answers with one
// acknowledgement per partition.

// RewindTopicSuffix names the control topic of an events topic.
const RewindTopicSuffix = "_rewinds"

// RewindTopic returns the control topic of rewinds of topic's groups.
func RewindTopic(topic string) string { return topic + RewindTopicSuffix }

// HeaderRewindKind says what a control record is: KindRewindRequest or
// KindRewindAck.
const HeaderRewindKind = "rewind"

// Control record kinds.
const (
	KindRewindRequest = "request"
	KindRewindAck     = "ack"
)

// RewindRequest asks the members of Group to move their partitions of
// Topic to the offsets given.
type RewindRequest struct {
	// ID names the rewind; a request sent again for the partitions not
	// acknowledged yet keeps it, so that a member never applies one
	// partition of a rewind twice.
	ID      string          `json:"id"`
	Group   string          `json:"group"`
	Topic   string          `json:"topic"`
	Offsets map[int32]int64 `json:"offsets"`
	// At is when the rewind was asked for; members ignore the request
	// after Deadline, when the rewinder has stopped waiting.
	At       time.Time `json:"at"`
	Deadline time.Time `json:"deadline"`
}

// RewindAck is a member's answer for one partition: moved to Offset and
// committed, or Error.
type RewindAck struct {
	ID        string `json:"id"`
	Group     string `json:"group"`
	Member    string `json:"member"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Error     string `json:"error,omitempty"`
}

// RewindRequestRecord returns the control record of req, keyed by the
// group.
func RewindRequestRecord(req RewindRequest) (*kgo.Record, error) {
	if req.ID == "" || req.Group == "" || req.Topic == "" || len(req.Offsets) == 0 {
		return nil, errors.New("rewind request: id, group, topic and offsets are required")
	}
	v, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode rewind request: %w", err)
	}
	return &kgo.Record{Topic: RewindTopic(req.Topic), Key: []byte(req.Group), Value: v,
		Headers: []kgo.RecordHeader{{Key: HeaderRewindKind, Value: []byte(KindRewindRequest)}}}, nil
}

// RewindAckRecord returns the control record of a on topic's control
// topic.
func RewindAckRecord(topic string, a RewindAck) (*kgo.Record, error) {
	v, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode rewind ack: %w", err)
	}
	return &kgo.Record{Topic: RewindTopic(topic), Key: []byte(a.Group), Value: v,
		Headers: []kgo.RecordHeader{{Key: HeaderRewindKind, Value: []byte(KindRewindAck)}}}, nil
}

// ParseRewind reads a control record: a request or an acknowledgement
// (the other is nil), or an error for a record that is neither.
func ParseRewind(r *kgo.Record) (*RewindRequest, *RewindAck, error) {
	kind := ""
	for _, h := range r.Headers {
		if h.Key == HeaderRewindKind {
			kind = string(h.Value)
		}
	}
	switch kind {
	case KindRewindRequest:
		var req RewindRequest
		if err := json.Unmarshal(r.Value, &req); err != nil {
			return nil, nil, fmt.Errorf("decode rewind request: %w", err)
		}
		if req.ID == "" || req.Group == "" || len(req.Offsets) == 0 {
			return nil, nil, errors.New("decode rewind request: id, group or offsets missing")
		}
		return &req, nil, nil
	case KindRewindAck:
		var a RewindAck
		if err := json.Unmarshal(r.Value, &a); err != nil {
			return nil, nil, fmt.Errorf("decode rewind ack: %w", err)
		}
		if a.ID == "" {
			return nil, nil, errors.New("decode rewind ack: id missing")
		}
		return nil, &a, nil
	}
	return nil, nil, fmt.Errorf("control record of kind %q: want %s or %s", kind, KindRewindRequest, KindRewindAck)
}
