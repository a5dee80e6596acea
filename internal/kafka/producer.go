package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

// Producer defaults.
const (
	// DefaultLinger lets a few records share a batch without adding
	// noticeable latency to a click.
	DefaultLinger = 5 * time.Millisecond
	// DefaultDeliveryTimeout bounds how long a record may wait for its
	// acknowledgement, retries included.
	DefaultDeliveryTimeout = 30 * time.Second
	// CloseTimeout bounds the flush on Close.
	CloseTimeout = 30 * time.Second
	// maxBuffered is how many records may wait for a broker before
	// producing blocks: enough for bursts of a load run.
	maxBuffered = 50_000
	// maxRetries bounds produce attempts per record.
	maxRetries = 10
)

// ErrProducerClosed is returned by calls on a closed Producer.
var ErrProducerClosed = errors.New("producer closed")

// Ack is where the broker stored a record.
type Ack struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// ProducerConfig tunes a Producer. Zero fields take the defaults.
type ProducerConfig struct {
	// Kafka names the cluster, the security settings, the topic
	// (Kafka.Topic) and the compression (Kafka.Compression).
	Kafka config.Kafka
	// Name is the client id and the metrics label; "producer" if empty.
	Name            string
	Linger          time.Duration
	DeliveryTimeout time.Duration
}

// ProducerStats counts records since the producer started.
type ProducerStats struct {
	// Sent records were handed to the client.
	Sent int64
	// Acked records were acknowledged by the cluster.
	Acked int64
	// Failed records were not delivered.
	Failed int64
}

// CloseReport says what Close flushed.
type CloseReport struct {
	// Flushed records were buffered at Close and acknowledged during it.
	Flushed int64
	// Failed records were buffered at Close and not delivered.
	Failed int64
	// Elapsed is how long the flush took.
	Elapsed time.Duration
}

// Producer sends events to the events topic: idempotent, acks=all,
// compressed, keyed user_id:event_type, the value the event's JSON, with
// the headers source and request_id.
type Producer struct {
	cl    *kgo.Client
	topic string
	log   *slog.Logger
	sasl  string // the SASL mechanism in use, for clearer connection errors

	sent, acked, failed atomic.Int64

	closeOnce sync.Once
	closed    atomic.Bool
	report    CloseReport
}

// NewProducer connects a producer. It does not wait for the cluster:
// the first Produce does.
func NewProducer(cfg ProducerConfig, log *slog.Logger, reg prometheus.Registerer) (*Producer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "producer")
	name := cfg.Name
	if name == "" {
		name = "producer"
	}
	linger := cfg.Linger
	if linger == 0 {
		linger = DefaultLinger
	}
	timeout := cfg.DeliveryTimeout
	if timeout == 0 {
		timeout = DefaultDeliveryTimeout
	}
	codec, err := compression(cfg.Kafka.Compression)
	if err != nil {
		return nil, fmt.Errorf("new producer: %w", err)
	}
	opts, err := ClientOpts(cfg.Kafka)
	if err != nil {
		return nil, fmt.Errorf("new producer: %w", err)
	}
	opts = append(opts,
		kgo.ClientID("pulse-"+name),
		kgo.DefaultProduceTopic(cfg.Kafka.Topic),
		// Idempotence is franz-go's default and needs acks=all; both
		// are spelled out because delivery guarantees rest on them.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(linger),
		kgo.RecordDeliveryTimeout(timeout),
		// Retries are bounded twice: by count and by the delivery
		// timeout. franz-go only gives up where that keeps idempotent
		// sequence numbers valid.
		kgo.RecordRetries(maxRetries),
		kgo.MaxBufferedRecords(maxBuffered),
		LoggerOpt(log),
	)
	opts = append(opts, MetricsOpt(reg, name)...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("new producer for %v: %w", cfg.Kafka.Brokers(), err)
	}
	return &Producer{cl: cl, topic: cfg.Kafka.Topic, log: log, sasl: cfg.Kafka.Security.SASLMechanism}, nil
}

// Topic is the topic events go to.
func (p *Producer) Topic() string { return p.topic }

// Stats returns the counts so far.
func (p *Producer) Stats() ProducerStats {
	return ProducerStats{Sent: p.sent.Load(), Acked: p.acked.Load(), Failed: p.failed.Load()}
}

// Record builds the Kafka record of an event. It fills event_id and
// timestamp when absent and validates the event first.
func (p *Producer) Record(e *event.Event, src event.Source, requestID string) (*kgo.Record, error) {
	filled := e.Normalize(time.Now())
	if err := e.Validate(); err != nil {
		return nil, err
	}
	value, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.EventID, err)
	}
	if len(value) > event.MaxRecordBytes {
		return nil, &event.Error{Reason: fmt.Sprintf("event is %d bytes, over the limit of %d", len(value), event.MaxRecordBytes)}
	}
	return &kgo.Record{
		Topic: p.topic, Key: e.Key(), Value: value, Timestamp: time.Now(),
		Headers: record.EventHeaders(src, requestID, filled),
	}, nil
}

// Produce sends one event and waits for the cluster's acknowledgement. An
// invalid event returns an *event.Error and nothing is sent. If ctx ends
// first, Produce returns ctx's error; the record may still be delivered.
func (p *Producer) Produce(ctx context.Context, e *event.Event, src event.Source, requestID string) (Ack, error) {
	r, err := p.Record(e, src, requestID)
	if err != nil {
		return Ack{}, err
	}
	return p.ProduceRecord(ctx, r)
}

// ProduceRecord sends a prepared record (for instance a replayed
// dead-letter) and waits for its acknowledgement.
func (p *Producer) ProduceRecord(ctx context.Context, r *kgo.Record) (Ack, error) {
	type result struct {
		ack Ack
		err error
	}
	done := make(chan result, 1)
	p.ProduceRecordAsync(ctx, r, func(a Ack, err error) { done <- result{a, err} })
	select {
	case res := <-done:
		return res.ack, res.err
	case <-ctx.Done():
		return Ack{}, ctx.Err()
	}
}

// ProduceBatch validates every event, then sends them all and waits for
// every acknowledgement. If any event is invalid nothing is sent and the
// error names its index. The first delivery error is returned.
func (p *Producer) ProduceBatch(ctx context.Context, events []*event.Event, src event.Source, requestID string) error {
	recs := make([]*kgo.Record, len(events))
	for i, e := range events {
		r, err := p.Record(e, src, requestID)
		if err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
		recs[i] = r
	}
	return p.ProduceRecords(ctx, recs)
}

// ProduceRecords sends prepared records and waits for every
// acknowledgement. The first delivery error is returned.
func (p *Producer) ProduceRecords(ctx context.Context, recs []*kgo.Record) error {
	// Buffered for every outcome, so that promises never block even
	// when ctx ends and nobody reads them any more.
	results := make(chan error, len(recs))
	for _, r := range recs {
		p.ProduceRecordAsync(ctx, r, func(_ Ack, err error) { results <- err })
	}
	var firstErr error
	for range recs {
		select {
		case err := <-results:
			if err != nil && firstErr == nil {
				firstErr = err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if firstErr != nil {
		return fmt.Errorf("produce batch of %d to %s: %w", len(recs), p.topic, firstErr)
	}
	return nil
}

// ProduceAsync validates and sends one event without waiting; fn is
// called once with the outcome, from the client's goroutine, so it must
// not block. It blocks only while the producer's buffer is full (until
// ctx ends).
func (p *Producer) ProduceAsync(ctx context.Context, e *event.Event, src event.Source, requestID string, fn func(Ack, error)) {
	r, err := p.Record(e, src, requestID)
	if err != nil {
		fn(Ack{}, err)
		return
	}
	p.ProduceRecordAsync(ctx, r, fn)
}

// ProduceRecordAsync sends a prepared record without waiting; fn is
// called once with the outcome.
func (p *Producer) ProduceRecordAsync(ctx context.Context, r *kgo.Record, fn func(Ack, error)) {
	if p.closed.Load() {
		fn(Ack{}, ErrProducerClosed)
		return
	}
	if r.Topic == "" {
		r.Topic = p.topic
	}
	p.sent.Add(1)
	p.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
		if err != nil {
			p.failed.Add(1)
			fn(Ack{}, fmt.Errorf("produce to %s: %w", r.Topic, err))
			return
		}
		p.acked.Add(1)
		fn(Ack{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}, nil)
	})
}

// Flush waits until every buffered record is acknowledged or failed, or
// ctx ends.
func (p *Producer) Flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return fmt.Errorf("flush producer: %w", err)
	}
	return nil
}

// Ping checks that a broker answers.
func (p *Producer) Ping(ctx context.Context) error {
	if err := p.cl.Ping(ctx); err != nil {
		return explainConnErr(fmt.Errorf("ping Kafka: %w", err), p.sasl)
	}
	return nil
}

// Close flushes what is buffered, for at most CloseTimeout, fails what
// is left and closes the client. It logs and returns how many records
// the flush delivered and how many it lost. Later calls return the
// first report.
func (p *Producer) Close() CloseReport {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		start := time.Now()
		acked, failed := p.acked.Load(), p.failed.Load()
		buffered := p.cl.BufferedProduceRecords()
		ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
		err := p.cl.Flush(ctx)
		cancel()
		// Close fails whatever the flush did not deliver, calling
		// their promises before it returns.
		p.cl.Close()
		p.report = CloseReport{
			Flushed: p.acked.Load() - acked,
			Failed:  p.failed.Load() - failed,
			Elapsed: time.Since(start),
		}
		attrs := []any{"buffered", buffered, "flushed", p.report.Flushed, "failed", p.report.Failed, "elapsed_ms", p.report.Elapsed.Milliseconds()}
		if err != nil || p.report.Failed > 0 {
			p.log.Warn("producer closed with undelivered records", append(attrs, "error", err)...)
		} else {
			p.log.Info("producer closed", attrs...)
		}
	})
	return p.report
}
