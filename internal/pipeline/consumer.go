package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// Sink is where finished records go: store.Store satisfies it. Write stores
// a batch in one transaction, idempotently on event_id, and reports which
// records were new and which reuse a stored event_id for another event.
type Sink interface {
	Write(ctx context.Context, batch []store.Record) (outcomes []store.Outcome, err error)
}

// Publisher receives live changes. Publish must not block: the live bus
// drops and counts rather than wait for a slow subscriber.
type Publisher interface {
	Publish(event.Change)
}

// maxPoll bounds the records taken per poll, so that rebalances, which wait
// for a poll's records to be dispatched, are never held up for long.
const maxPoll = 5000

// commitTimeout bounds one offset commit.
const commitTimeout = 10 * time.Second

// Consumer is one member of the consumer group. Create it with New and run
// it with Run; several Consumers may share a Sink, a Publisher and Metrics.
type Consumer struct {
	cfg      Config
	simulate bool
	sink     Sink
	// retryLog is sink's retry log, nil when it keeps none.
	retryLog retryLog
	pub      Publisher
	metrics  *Metrics
	m        member
	log      *slog.Logger
	opts     []kgo.Opt
	// cl is the member's group consumer; Run creates it, and the group
	// is joined from then on.
	cl *kgo.Client
	// dlq is the member's transactional DLQ producer, guarded by txnMu:
	// a client of its own, so that one whose producer id failed for good
	// (its transaction lost to a fence or the coordinator's timeout) is
	// replaced without leaving the group (see renewDLQ).
	dlq     *kgo.Client
	dlqOpts []kgo.Opt

	ran atomic.Bool

	// commitMu serialises commits, so that a periodic commit computed
	// before a revoke cannot land after the revoke's own commit.
	commitMu sync.Mutex
	// txnMu orders DLQ produces with the beginning and end of the DLQ
	// transaction (see txn.go); it is taken before mu, never after.
	// txnOpen says whether the client is in a transaction.
	txnMu   sync.Mutex
	txnOpen bool
	topicID [16]byte // of the events topic, for TxnOffsetCommit

	// mu guards everything below: the partitions, their key queues and
	// records, the writer queue and the counters.
	mu    sync.Mutex
	parts map[int32]*partState
	// inFlight counts fetched records of owned partitions not yet stored.
	inFlight int
	// held counts keys held back by their head record.
	held int
	// finished is the writer queue, in the order records finished.
	finished []*rec
	// finishedSeq counts records ever queued for the writer and writtenSeq
	// those written; flush waits for writtenSeq to catch up.
	finishedSeq, writtenSeq uint64
	// written is closed and replaced after every store write.
	written     chan struct{}
	flushWanted int
	writerDone  bool
	// stopped is set at shutdown once in-flight records are abandoned.
	stopped    bool
	committed  map[int32]int64
	lastCommit time.Time
	// txn is the open DLQ transaction; rewind names the partitions the
	// poll loop must restart from their committed offsets after an
	// aborted one.
	txn    dlqTxn
	rewind map[int32]bool
	// pollCancel cuts the poll under way short, for a rewind.
	pollCancel context.CancelFunc
	// seeks are the partitions an operator's rewind moves, applied by
	// the poll loop between polls (see seek.go); rewound remembers the
	// rewinds applied, so that a request sent again is acknowledged
	// without moving the partition a second time.
	seeks   map[int32]seek
	rewound map[string]*rewoundParts
	// ctl reads rewind requests and writes their acknowledgements.
	ctl   *kgo.Client
	stats counters
	// fx collects side effects decided under mu, run by unlock:
	// publishing in-flight states, waking the writer, producing to the
	// DLQ.
	fx effects

	// saves are the records whose retry state waits for the saver
	// (retrylog.go), savesBusy set while it writes some; saved is closed
	// and replaced after each write, and saverDone set once it stopped.
	saves     []*rec
	savesBusy bool
	saved     chan struct{}
	saverDone bool
	saveWake  chan struct{}

	wake  chan struct{} // wakes the writer
	space chan struct{} // wakes the poll loop (and drain) when records are stored

	// timers counts scheduled timer callbacks, so shutdown can wait for
	// the ones already running.
	timers sync.WaitGroup
	// prodCtx is cancelled at shutdown to abort DLQ produces. Run sets it
	// before anything produces.
	prodCtx    context.Context
	prodCancel context.CancelFunc
}

// counters are the member's totals shown by Snapshot.
type counters struct {
	processed, failed, retried, deadLettered, duplicates int64
	processingMSSum                                      float64
	processingCount                                      int64
	written                                              int64
}

type effects struct {
	publish []event.Message
	// settled are the ids of records that finished without a write
	// (redelivered.go).
	settled []string
	produce []*rec
	wake    bool
	save    bool
}

// New creates a member. Nothing connects until Run.
func New(cfg Config, sink Sink, pub Publisher, m *Metrics, log *slog.Logger) (*Consumer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if sink == nil {
		return nil, errors.New("new consumer: nil sink")
	}
	if m == nil {
		if m, err = NewMetrics(nil); err != nil {
			return nil, err
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Consumer{
		cfg:       cfg,
		simulate:  !cfg.IgnoreSimulation,
		sink:      sink,
		pub:       pub,
		metrics:   m,
		m:         m.member(cfg.ConsumerID),
		log:       log.With("component", "pipeline", "consumer_id", cfg.ConsumerID),
		parts:     make(map[int32]*partState),
		committed: make(map[int32]int64),
		rewind:    make(map[int32]bool),
		seeks:     make(map[int32]seek),
		rewound:   make(map[string]*rewoundParts),
		written:   make(chan struct{}),
		wake:      make(chan struct{}, 1),
		space:     make(chan struct{}, 1),
		saved:     make(chan struct{}),
		saveWake:  make(chan struct{}, 1),
	}
	c.retryLog, _ = sink.(retryLog)
	opts := append([]kgo.Opt{}, cfg.ClientOpts...)
	c.opts = append(opts,
		kgo.SeedBrokers(cfg.Brokers...),
		// The client id is the consumer id, so that describing the group
		// names members the way logs, metrics and DLQ headers do.
		kgo.ClientID(cfg.ConsumerID),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.DisableAutoCommit(),
		// Records of aborted transactions are never stored, nor those of
		// open ones before they commit.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers come through so the watermark moves past
		// them: without them a topic written by a transactional producer
		// would end in a marker the group never commits past, and its
		// lag would never reach 0.
		kgo.KeepControlRecords(),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.BlockRebalanceOnPoll(),
		// Kafka's defaults (45 s session, 60 s rebalance) leave a killed
		// member's partitions unread for most of a minute and, under
		// repeated kills, stall the group; the pipeline's revoke work is
		// bounded by DrainTimeout, well inside these.
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.RebalanceTimeout(cfg.RebalanceTimeout),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.OnPartitionsAssigned(c.onAssigned),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
	)
	c.dlqOpts = append(append([]kgo.Opt{}, cfg.ClientOpts...),
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ConsumerID),
		// The DLQ producer: transactional (see txn.go), so idempotent
		// with acks=all, and a delivery timeout so a failing produce
		// comes back to be retried and logged by the pipeline instead of
		// hanging inside the client.
		kgo.TransactionalID(TransactionalID(cfg.Group, cfg.ConsumerID)),
		kgo.TransactionTimeout(txnTimeout),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(30*time.Second),
		kgo.ProducerLinger(0),
	)
	return c, nil
}

// ID returns the member's consumer id.
func (c *Consumer) ID() string { return c.cfg.ConsumerID }

// Run consumes until ctx is cancelled, then shuts down: it stops fetching,
// lets in-flight records finish for up to DrainTimeout (the rest are
// abandoned uncommitted, to be redelivered), flushes the writer, commits,
// leaves the group and closes the client. It returns an error only when the
// final commit fails or the client cannot be created. Run may be called
// once.
func (c *Consumer) Run(ctx context.Context) error {
	if !c.ran.CompareAndSwap(false, true) {
		return fmt.Errorf("consumer %s: Run called twice", c.cfg.ConsumerID)
	}
	c.prodCtx, c.prodCancel = context.WithCancel(context.Background())
	defer c.prodCancel()
	cl, err := kgo.NewClient(c.opts...)
	if err != nil {
		return fmt.Errorf("consumer %s: kafka client: %w", c.cfg.ConsumerID, err)
	}
	c.cl = cl
	dlq, err := kgo.NewClient(c.dlqOpts...)
	if err != nil {
		cl.Close()
		return fmt.Errorf("consumer %s: kafka DLQ client: %w", c.cfg.ConsumerID, err)
	}
	c.dlq = dlq
	// Initialising the producer id fences a predecessor with the same
	// consumer id at once, aborting the DLQ transaction it left open, so
	// that read_committed readers of the DLQ are not held back until its
	// timeout. Failing here is not fatal: the first dead letter retries.
	pctx, cancel := context.WithTimeout(ctx, commitTimeout)
	if _, _, err := dlq.ProducerID(pctx); err != nil && ctx.Err() == nil {
		c.log.Warn("initialise the DLQ producer", "err", err)
	}
	cancel()
	c.log.Info("consumer starting", "group", c.cfg.Group, "topic", c.cfg.Topic, "dlq_topic", c.cfg.DLQTopic)

	// The writer outlives ctx: shutdown still flushes through it.
	writeCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWriter()
	// Commits go on while shutdown drains: dead letters waiting for the
	// open DLQ transaction to end are produced only once it commits.
	commitCtx, stopCommits := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCommits()
	var wg sync.WaitGroup
	wg.Go(func() { c.writeLoop(writeCtx) })
	// The saver outlives ctx too: the states of the retries abandoned at
	// shutdown are what the next owner resumes.
	saveCtx, stopSaver := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSaver()
	wg.Go(func() { c.saveLoop(saveCtx) })
	wg.Go(func() { c.commitLoop(commitCtx) })
	ctlCtx, stopCtl := context.WithCancel(ctx)
	defer stopCtl()
	if err := c.startRewindWatch(); err != nil {
		c.log.Warn("rewinds of the running group cannot reach this member", "err", err)
	} else {
		wg.Go(func() { c.watchRewinds(ctlCtx) })
	}

	c.pollLoop(ctx)
	stopCtl()

	// Shutdown.
	c.mu.Lock()
	writtenBefore := c.stats.written
	c.mu.Unlock()
	c.drain(c.cfg.DrainTimeout)
	stopCommits()
	abandoned := c.abandonAll()
	c.prodCancel()
	c.timers.Wait()
	c.flush(context.Background(), c.cfg.DrainTimeout)
	c.flushSaves(context.Background(), c.cfg.DrainTimeout)
	stopWriter()
	stopSaver()
	wg.Wait()
	c.mu.Lock()
	flushed := c.stats.written - writtenBefore
	c.mu.Unlock()

	cctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	commitErr := c.commit(cctx, c.cl)
	// A DLQ transaction still open holds dead letters of abandoned
	// records: abort it, and they are redelivered.
	c.mu.Lock()
	open, _, _ := c.txnState()
	c.mu.Unlock()
	if open {
		c.abortTxn(cctx, c.cl, errors.New("shutting down"))
	}
	cancel()
	c.mu.Lock()
	committed := make(map[int32]int64, len(c.committed))
	for p, o := range c.committed {
		committed[p] = o
	}
	c.mu.Unlock()

	// Leave with a bound, so an unreachable coordinator cannot hold up
	// shutdown; the revoke that leaving triggers finds nothing left to do.
	lctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	if err := c.cl.LeaveGroupContext(lctx); err != nil {
		c.log.Warn("leave group", "err", err)
	}
	cancel()
	c.cl.Close()
	if c.ctl != nil {
		c.ctl.Close()
	}
	c.txnMu.Lock()
	c.dlq.Close()
	c.txnMu.Unlock()
	c.m.inFlight.Set(0)
	c.m.heldKeys.Set(0)
	c.log.Info("consumer stopped", "flushed", flushed, "committed", committed, "abandoned", abandoned)
	if commitErr != nil {
		return fmt.Errorf("consumer %s: final commit: %w", c.cfg.ConsumerID, commitErr)
	}
	return nil
}

// pollLoop fetches and dispatches records until ctx is cancelled, pausing
// while MaxInFlight records are unfinished.
func (c *Consumer) pollLoop(ctx context.Context) {
	for {
		room := 0
		for {
			c.mu.Lock()
			room = c.cfg.MaxInFlight - c.inFlight
			c.mu.Unlock()
			if room > 0 {
				break
			}
			c.mu.Lock()
			rewind := len(c.rewind) > 0 || len(c.seeks) > 0
			c.mu.Unlock()
			if rewind {
				// A rewind frees room, but runs only between polls.
				room = 1
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-c.space:
			}
		}
		// A rewind requested while the poll waits cuts it short.
		pctx, cancel := context.WithCancel(ctx)
		c.mu.Lock()
		c.pollCancel = cancel
		rewind := len(c.rewind) > 0 || len(c.seeks) > 0
		c.mu.Unlock()
		if rewind {
			cancel()
		}
		fs := c.cl.PollRecords(pctx, min(room, maxPoll))
		c.mu.Lock()
		c.pollCancel = nil
		c.mu.Unlock()
		cancel()
		if fs.IsClientClosed() {
			c.cl.AllowRebalance()
			return
		}
		fs.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return
			}
			c.log.Warn("fetch error", "topic", topic, "partition", p, "err", err)
		})
		c.dispatch(fs, c.storedAlready(ctx, fs))
		c.doRewinds(c.cl)
		c.doSeeks(c.cl)
		c.cl.AllowRebalance()
		if ctx.Err() != nil {
			return
		}
	}
}

// drain waits up to timeout for every in-flight record to be stored.
func (c *Consumer) drain(timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		c.mu.Lock()
		n := c.inFlight
		c.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-t.C:
			return
		case <-c.space:
		}
	}
}

// abandonAll stops processing everywhere and returns how many records were
// left unfinished; their offsets stay uncommitted.
func (c *Consumer) abandonAll() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	n := 0
	for _, ps := range c.parts {
		n += c.abandon(ps)
	}
	return n
}

// unlock releases mu and runs the side effects collected under it.
// In-flight states are published before mu is released, so that they
// reach the bus in the order they happened and before the terminal state
// the writer publishes; Publish does not block. Producing runs after: the
// client may call back into the consumer at once.
func (c *Consumer) unlock() {
	fx := c.fx
	c.fx = effects{}
	if (len(fx.publish) > 0 || len(fx.settled) > 0) && c.pub != nil {
		c.pub.Publish(event.Change{Messages: fx.publish, Settled: fx.settled})
	}
	c.mu.Unlock()
	if fx.wake {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	if fx.save {
		select {
		case c.saveWake <- struct{}{}:
		default:
		}
	}
	for _, r := range fx.produce {
		c.produceDLQ(r)
	}
}

func (c *Consumer) signalSpace() {
	select {
	case c.space <- struct{}{}:
	default:
	}
}

// after runs fn after d on a timer owned by the consumer: shutdown stops
// pending timers and waits for running ones.
func (c *Consumer) after(d time.Duration, fn func()) *time.Timer {
	c.timers.Add(1)
	return time.AfterFunc(d, func() {
		defer c.timers.Done()
		fn()
	})
}

// stopTimer cancels t if it has not fired.
func (c *Consumer) stopTimer(t *time.Timer) {
	if t != nil && t.Stop() {
		c.timers.Done()
	}
}

// backoff returns the wait before retry n (1-based): exponential from
// RetryBase, capped at RetryMax, with equal jitter: half the step is fixed,
// half random. Full jitter could make all retries of a record finish in a
// few milliseconds, too fast to be a backoff or to be seen on a dashboard.
func (c *Consumer) backoff(n int) time.Duration {
	return c.backoffFrom(c.cfg.RetryBase, n)
}

// ioRetryBase is the first wait before retrying a DLQ produce or a store
// write. These retries are no event's: they wait for Kafka or the
// database to come back, and do not slow down as the events' do.
const ioRetryBase = 100 * time.Millisecond

// ioBackoff returns the wait before retry n of a DLQ produce or a store
// write: as backoff, from ioRetryBase (or RetryBase when that is
// shorter).
func (c *Consumer) ioBackoff(n int) time.Duration {
	return c.backoffFrom(min(c.cfg.RetryBase, ioRetryBase), n)
}

func (c *Consumer) backoffFrom(base time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < c.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.RetryMax)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}
