// Package pipeline is Pulse's consuming side: a Kafka consumer-group member
// that decodes and validates records, processes them in order per key
// without letting a slow or failing key hold back the others, retries with
// backoff, dead-letters what cannot be processed, writes finished records to
// the store in batches, publishes live changes, and commits offsets only
// after the store has committed, never past the lowest unfinished offset.
package pipeline

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults applied by New to zero fields of Config. The topic and group
// names have none here: the caller names them (Pulse's defaults are in
// the config package).
const (
	DefaultMaxRetries     = 3
	DefaultRetryBase      = time.Second
	DefaultRetryMax       = 5 * time.Second
	DefaultBatchSize      = 1000
	DefaultFlushInterval  = 5 * time.Millisecond
	DefaultMaxInFlight    = 50000
	DefaultCommitInterval = 500 * time.Millisecond
	DefaultDrainTimeout   = 5 * time.Second
	// DefaultSessionTimeout is how long the group waits for a silent
	// member before giving its partitions to the others.
	DefaultSessionTimeout = 10 * time.Second
	// DefaultRebalanceTimeout bounds how long members may take to rejoin
	// during a rebalance.
	DefaultRebalanceTimeout = 10 * time.Second
)

// Config configures one consumer-group member. Brokers, Topic, DLQTopic
// and Group are required; other zero fields take the defaults above.
type Config struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// ClientOpts are extra kgo options from the caller (SASL, TLS, a
	// logger...). They are applied before the options the pipeline needs,
	// so they cannot turn off manual commits or the cooperative balancer.
	ClientOpts []kgo.Opt

	Topic    string
	DLQTopic string
	Group    string
	// ConsumerID names this member in logs, metrics, processing-log rows
	// and DLQ headers; the host name when empty.
	ConsumerID string

	// MaxRetries is how many times a failing record is retried after its
	// first attempt before it is dead-lettered. Zero means
	// DefaultMaxRetries; a negative value means no retries.
	MaxRetries int
	// RetryBase and RetryMax bound the exponential backoff (with
	// equal jitter) between the attempts of a failing event. DLQ
	// produces and store writes back off from the shorter of RetryBase
	// and 100 ms, up to RetryMax.
	RetryBase time.Duration
	RetryMax  time.Duration

	// BatchSize is the most records one store write carries.
	BatchSize int
	// FlushInterval is how long the writer waits to fill a batch.
	FlushInterval time.Duration
	// MaxInFlight is how many fetched but not yet stored records a member
	// holds before it stops polling.
	MaxInFlight int
	// CommitInterval is how often changed offsets are committed.
	CommitInterval time.Duration
	// DrainTimeout bounds how long shutdown (and a revoke's flush) waits
	// for in-flight records; what is still unfinished then is abandoned
	// uncommitted and redelivered later.
	DrainTimeout time.Duration
	// SessionTimeout and RebalanceTimeout are the group membership
	// timeouts; RebalanceTimeout must exceed DrainTimeout, which bounds a
	// revoke's flush.
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration

	// IgnoreSimulation makes the member ignore the events' delay_seconds
	// and should_fail fields. By default they are honoured, as in the seed.
	IgnoreSimulation bool
}

// withDefaults returns cfg with zero fields defaulted, or an error naming
// what is invalid.
func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.Brokers) == 0 {
		return cfg, errors.New("pipeline config: no brokers")
	}
	if cfg.Topic == "" || cfg.DLQTopic == "" || cfg.Group == "" {
		return cfg, fmt.Errorf("pipeline config: topic %q, DLQ topic %q and group %q must all be named", cfg.Topic, cfg.DLQTopic, cfg.Group)
	}
	if cfg.ConsumerID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "consumer"
		}
		cfg.ConsumerID = host
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = DefaultRetryBase
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = DefaultRetryMax
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = DefaultCommitInterval
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.RebalanceTimeout <= 0 {
		cfg.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if cfg.RebalanceTimeout <= cfg.DrainTimeout {
		return cfg, fmt.Errorf("pipeline config: rebalance timeout %s must exceed the drain timeout %s", cfg.RebalanceTimeout, cfg.DrainTimeout)
	}
	if cfg.Topic == cfg.DLQTopic {
		return cfg, fmt.Errorf("pipeline config: DLQ topic %q is the consumed topic", cfg.DLQTopic)
	}
	if cfg.RetryMax < cfg.RetryBase {
		return cfg, fmt.Errorf("pipeline config: retry max %s is below retry base %s", cfg.RetryMax, cfg.RetryBase)
	}
	return cfg, nil
}
