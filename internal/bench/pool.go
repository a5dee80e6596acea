package bench

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/generator"
	"github.com/pulse-dev/pulse/internal/record"
)

// pool holds generated events, encoded once, without event_id so that
// every record gets its own id derived from its coordinates: a value can be
// sent many times and each send is a new event to store.
type pool struct {
	keys, values [][]byte
	bytes        int // mean value size
}

func newPool(n int, pad int) (*pool, error) {
	gen := generator.New(generator.Config{Seed: 42})
	p := &pool{keys: make([][]byte, n), values: make([][]byte, n)}
	total := 0
	for i := range n {
		e := gen.Next()
		e.EventID = ""
		if pad > 0 {
			e.Message = padding(pad)
		}
		v, err := json.Marshal(&e)
		if err != nil {
			return nil, fmt.Errorf("encode event: %w", err)
		}
		p.keys[i], p.values[i] = e.Key(), v
		total += len(v)
	}
	p.bytes = total / max(n, 1)
	return p, nil
}

func padding(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return string(b)
}

func (p *pool) record(i int64) *kgo.Record {
	j := int(i % int64(len(p.values)))
	return &kgo.Record{Key: p.keys[j], Value: p.values[j], Headers: []kgo.RecordHeader{{Key: record.HeaderSource, Value: []byte(event.SourceProducer)}}}
}

// stampedRecord is a fresh event whose timestamp is now, so that a reader
// of the stored event or of the WebSocket frame can tell its age.
func stampedRecord(gen *generator.Generator, now time.Time) (*kgo.Record, error) {
	e := gen.Next()
	e.EventID, e.Timestamp = "", now
	v, err := json.Marshal(&e)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return &kgo.Record{Key: e.Key(), Value: v, Headers: []kgo.RecordHeader{{Key: record.HeaderSource, Value: []byte(event.SourceProducer)}}}, nil
}
