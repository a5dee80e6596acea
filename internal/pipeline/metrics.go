package pipeline

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/metrics"
)

// Metrics holds the pipeline's Prometheus collectors. One Metrics is shared
// by every member in a process; series carry a consumer_id label where it
// helps, never a key or a user.
type Metrics struct {
	consumed      *prometheus.CounterVec
	processed     *prometheus.CounterVec
	failedAttempt *prometheus.CounterVec
	retries       *prometheus.CounterVec
	dlqProduced   *prometheus.CounterVec
	dlqErrors     *prometheus.CounterVec
	dlqTxns       *prometheus.CounterVec
	dlqSettled    *prometheus.CounterVec
	dlqCopies     *prometheus.CounterVec
	resumed       *prometheus.CounterVec
	retrySaves    *prometheus.CounterVec
	skipped       *prometheus.CounterVec
	conflicts     *prometheus.CounterVec
	suppressed    *prometheus.CounterVec
	processing    prometheus.Histogram
	endToEnd      prometheus.Histogram
	writeDuration prometheus.Histogram
	batchSize     prometheus.Histogram
	writeErrors   prometheus.Counter
	commits       *prometheus.CounterVec
	inFlight      *prometheus.GaugeVec
	heldKeys      *prometheus.GaugeVec
	rebalances    *prometheus.CounterVec
}

// Outcomes of a processed record, the outcome label of
// pulse_pipeline_records_processed_total.
const (
	OutcomeCompleted    = "completed"
	OutcomeDeadLettered = "dead_lettered"
	OutcomeDuplicate    = "duplicate"
)

// NewMetrics creates the collectors and registers them with reg (nothing is
// registered when reg is nil). A collector already registered with reg, by
// an earlier NewMetrics, is reused, so members may share reg safely.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	const ns, sub = "pulse", "pipeline"
	id := []string{"consumer_id"}
	m := &Metrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "records_consumed_total",
			Help: "Records fetched from the events topic.",
		}, id),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "records_processed_total",
			Help: "Records finished and written to the store, by outcome (completed, dead_lettered, duplicate: already stored).",
		}, []string{"consumer_id", "outcome"}),
		failedAttempt: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "failed_attempts_total",
			Help: "Processing attempts that failed.",
		}, id),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "retries_total",
			Help: "Retries scheduled after a failed attempt.",
		}, id),
		dlqProduced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "dlq_produced_total",
			Help: "Records acknowledged by the DLQ topic, by reason (invalid: malformed record; failed: retries exhausted).",
		}, []string{"consumer_id", "reason"}),
		dlqErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "dlq_produce_errors_total",
			Help: "DLQ produces that failed and are retried.",
		}, id),
		dlqTxns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "dlq_transactions_total",
			Help: "DLQ transactions ended, by result (committed: their dead letters visible with the offsets past them; aborted: their records processed again).",
		}, []string{"consumer_id", "result"}),
		dlqSettled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "dlq_already_committed_total",
			Help: "Records delivered again whose dead letter was already committed (the broker kept the dead letter but lost the offset commit of its transaction), not sent twice.",
		}, id),
		dlqCopies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "dlq_copies_total",
			Help: "Records not dead-lettered because an earlier copy of the same event (a client's retry) already was.",
		}, id),
		resumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "retries_resumed_total",
			Help: "Records delivered again (after a crash, a rebalance or an aborted DLQ transaction) whose retry resumed from the retry log, at its due time with the budget it had left.",
		}, id),
		retrySaves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "retry_saves_total",
			Help: "Writes of failed records' retry states to the retry log, by result (ok, error: tried again).",
		}, []string{"consumer_id", "result"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "redelivered_completed_total",
			Help: "Records delivered again above the committed offset whose completion the store already held: settled without being processed again.",
		}, id),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "event_id_conflicts_total",
			Help: "Records whose event_id was stored already for another event (different content), sent to the DLQ instead of being dropped as duplicates.",
		}, id),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "erased_user_records_total",
			Help: "Records of an erased user (on the suppression list), sent to the DLQ instead of being stored.",
		}, id),
		processing: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "processing_duration_seconds",
			Help:    "Duration of the final processing attempt of completed records.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}),
		endToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "end_to_end_latency_seconds",
			Help:    "Time from the record's Kafka timestamp to its first store commit.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 13),
		}),
		writeDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "store_write_duration_seconds",
			Help:    "Duration of successful store batch writes.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "store_batch_records",
			Help:    "Records per store batch write.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "store_write_errors_total",
			Help: "Store batch writes that failed and are retried.",
		}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "offset_commits_total",
			Help: "Offset commits, by result (ok, error).",
		}, []string{"consumer_id", "result"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "in_flight_records",
			Help: "Fetched records not yet stored.",
		}, id),
		heldKeys: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "held_keys",
			Help: "Keys held back by a delayed, retrying or dead-lettering record.",
		}, id),
		rebalances: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "rebalances_total",
			Help: "Partition assignment changes, by kind (assigned, revoked, lost; rewound: partitions moved by an operator's rewind).",
		}, []string{"consumer_id", "kind"}),
	}
	if err := errors.Join(
		metrics.Register(reg, &m.consumed),
		metrics.Register(reg, &m.processed),
		metrics.Register(reg, &m.failedAttempt),
		metrics.Register(reg, &m.retries),
		metrics.Register(reg, &m.dlqProduced),
		metrics.Register(reg, &m.dlqErrors),
		metrics.Register(reg, &m.dlqTxns),
		metrics.Register(reg, &m.dlqSettled),
		metrics.Register(reg, &m.dlqCopies),
		metrics.Register(reg, &m.resumed),
		metrics.Register(reg, &m.retrySaves),
		metrics.Register(reg, &m.skipped),
		metrics.Register(reg, &m.conflicts),
		metrics.Register(reg, &m.suppressed),
		metrics.Register(reg, &m.processing),
		metrics.Register(reg, &m.endToEnd),
		metrics.Register(reg, &m.writeDuration),
		metrics.Register(reg, &m.batchSize),
		metrics.Register(reg, &m.writeErrors),
		metrics.Register(reg, &m.commits),
		metrics.Register(reg, &m.inFlight),
		metrics.Register(reg, &m.heldKeys),
		metrics.Register(reg, &m.rebalances),
	); err != nil {
		return nil, fmt.Errorf("register pipeline metrics: %w", err)
	}
	return m, nil
}

// member is the set of series of one consumer, resolved once so the hot
// path does not look labels up per record.
type member struct {
	consumed     prometheus.Counter
	completed    prometheus.Counter
	deadLettered prometheus.Counter
	duplicate    prometheus.Counter
	failed       prometheus.Counter
	retries      prometheus.Counter
	dlqInvalid   prometheus.Counter
	dlqFailed    prometheus.Counter
	dlqErrors    prometheus.Counter
	dlqTxns      prometheus.Counter
	dlqTxnAborts prometheus.Counter
	dlqSettled   prometheus.Counter
	dlqCopies    prometheus.Counter
	resumed      prometheus.Counter
	savesOK      prometheus.Counter
	savesErr     prometheus.Counter
	skipped      prometheus.Counter
	conflicts    prometheus.Counter
	suppressed   prometheus.Counter
	commitsOK    prometheus.Counter
	commitsErr   prometheus.Counter
	inFlight     prometheus.Gauge
	heldKeys     prometheus.Gauge
	assigned     prometheus.Counter
	revoked      prometheus.Counter
	lost         prometheus.Counter
	rewinds      prometheus.Counter
}

func (m *Metrics) member(id string) member {
	return member{
		consumed:     m.consumed.WithLabelValues(id),
		completed:    m.processed.WithLabelValues(id, OutcomeCompleted),
		deadLettered: m.processed.WithLabelValues(id, OutcomeDeadLettered),
		duplicate:    m.processed.WithLabelValues(id, OutcomeDuplicate),
		failed:       m.failedAttempt.WithLabelValues(id),
		retries:      m.retries.WithLabelValues(id),
		dlqInvalid:   m.dlqProduced.WithLabelValues(id, "invalid"),
		dlqFailed:    m.dlqProduced.WithLabelValues(id, "failed"),
		dlqErrors:    m.dlqErrors.WithLabelValues(id),
		dlqTxns:      m.dlqTxns.WithLabelValues(id, "committed"),
		dlqTxnAborts: m.dlqTxns.WithLabelValues(id, "aborted"),
		dlqSettled:   m.dlqSettled.WithLabelValues(id),
		dlqCopies:    m.dlqCopies.WithLabelValues(id),
		resumed:      m.resumed.WithLabelValues(id),
		savesOK:      m.retrySaves.WithLabelValues(id, "ok"),
		savesErr:     m.retrySaves.WithLabelValues(id, "error"),
		skipped:      m.skipped.WithLabelValues(id),
		conflicts:    m.conflicts.WithLabelValues(id),
		suppressed:   m.suppressed.WithLabelValues(id),
		commitsOK:    m.commits.WithLabelValues(id, "ok"),
		commitsErr:   m.commits.WithLabelValues(id, "error"),
		inFlight:     m.inFlight.WithLabelValues(id),
		heldKeys:     m.heldKeys.WithLabelValues(id),
		assigned:     m.rebalances.WithLabelValues(id, "assigned"),
		revoked:      m.rebalances.WithLabelValues(id, "revoked"),
		lost:         m.rebalances.WithLabelValues(id, "lost"),
		rewinds:      m.rebalances.WithLabelValues(id, "rewound"),
	}
}
