package live

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/metrics"
)

const (
	// redisBuffer is how many changes may wait for the Redis sender before
	// Publish starts dropping them.
	redisBuffer = 4096
	// redisBatch caps the changes sent in one PUBLISH.
	redisBatch = 256
	// redisSendTimeout bounds one PUBLISH, so a Redis outage costs drops,
	// not a stuck sender.
	redisSendTimeout = 5 * time.Second
	// redisHeartbeat is how often an idle publisher says its last sequence
	// number, so that a process that missed its last messages (Redis was
	// away, or its subscription was) notices without waiting for the next
	// change.
	redisHeartbeat = 5 * time.Second
	// maxOrigins bounds the publishers a process remembers; past it, those
	// not heard from for redisForget are forgotten.
	maxOrigins  = 1024
	redisForget = 10 * time.Minute
)

// envelope is the JSON published on the Redis channel. Origin names the
// publishing process so it can skip its own changes, which it has already
// delivered locally. Seq numbers an origin's envelopes from 1; a heartbeat
// has no changes and repeats the last number sent, so a gap in the
// numbers tells a receiver that it missed changes (Redis pub/sub keeps
// nothing for a subscriber that is away).
type envelope struct {
	Origin  string         `json:"origin"`
	Seq     uint64         `json:"seq"`
	Changes []event.Change `json:"changes"`
}

// origin is what a receiver remembers of one publisher.
type origin struct {
	seq   uint64
	heard time.Time
}

// RedisBus shares changes between processes over Redis pub/sub: Publish
// delivers to local subscribers at once and queues the change for Redis;
// changes from other processes arrive from Redis and are delivered
// locally. Each process therefore sees every change exactly once. Publish
// never blocks; when Redis is slow or down, changes for it are dropped and
// counted.
type RedisBus struct {
	local   *Bus
	client  *redis.Client
	pubsub  *redis.PubSub
	channel string
	origin  string
	log     *slog.Logger

	out      chan event.Change
	dropped  prometheus.Counter
	sent     prometheus.Counter
	received prometheus.Counter
	bad      prometheus.Counter
	missed   prometheus.Counter

	// seq is the last sequence number the sender used; gaps counts the
	// other processes' envelopes found missing.
	seq  uint64
	gaps atomic.Uint64

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// NewRedisBus connects to the Redis at url (redis://host:port/db) and
// subscribes to channel. ctx bounds only the connection; the bus runs
// until Close.
func NewRedisBus(ctx context.Context, url, channel string, log *slog.Logger, reg prometheus.Registerer) (*RedisBus, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	client := redis.NewClient(opt)
	ps := client.Subscribe(ctx, channel)
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		_ = client.Close()
		return nil, fmt.Errorf("subscribe to redis channel %s at %s: %w", channel, opt.Addr, err)
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		_ = metrics.Register(reg, &c) // refused: still counts, unexported
		return c
	}
	b := &RedisBus{
		local:    newBus(log, reg, "redis"),
		client:   client,
		pubsub:   ps,
		channel:  channel,
		origin:   uuid.NewString(),
		log:      log.With("component", "live_redis_bus"),
		out:      make(chan event.Change, redisBuffer),
		dropped:  counter("pulse_live_redis_send_dropped_total", "Changes not sent to Redis because the send buffer was full or Redis failed."),
		sent:     counter("pulse_live_redis_sent_total", "Changes sent to Redis."),
		received: counter("pulse_live_redis_received_total", "Changes received from other processes through Redis."),
		bad:      counter("pulse_live_redis_bad_messages_total", "Redis messages on the channel that could not be decoded."),
		missed:   counter("pulse_live_redis_missed_total", "Gaps in another process's sequence of Redis messages: changes this process never received."),
	}
	runCtx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	msgs := ps.Channel(redis.WithChannelSize(1024))
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		b.send(runCtx)
	}()
	go func() {
		defer b.wg.Done()
		b.receive(runCtx, msgs)
	}()
	return b, nil
}

// Publish delivers c to local subscribers and queues it for the other
// processes.
func (b *RedisBus) Publish(c event.Change) {
	b.local.Publish(c)
	select {
	case b.out <- c:
	default:
		b.dropped.Inc()
	}
}

// Subscribe returns a channel of every change, local or remote, buffered
// for buf changes, and a cancel function.
func (b *RedisBus) Subscribe(buf int) (<-chan event.Change, func()) {
	return b.local.Subscribe(buf)
}

// Gaps counts the changes this process may have missed: those a local
// subscriber had no room for, and the gaps found in other processes'
// sequences of Redis messages. It only grows.
func (b *RedisBus) Gaps() uint64 { return b.local.Gaps() + b.gaps.Load() }

// Close sends what is queued (for at most redisSendTimeout), stops the
// bus and disconnects from Redis.
func (b *RedisBus) Close() error {
	b.closeOnce.Do(func() {
		b.cancel()
		b.wg.Wait()
		if err := b.pubsub.Close(); err != nil {
			b.closeErr = fmt.Errorf("close redis subscription: %w", err)
		}
		if err := b.client.Close(); err != nil && b.closeErr == nil {
			b.closeErr = fmt.Errorf("close redis client: %w", err)
		}
	})
	return b.closeErr
}

func (b *RedisBus) send(ctx context.Context) {
	batch := make([]event.Change, 0, redisBatch)
	failing := false
	flush := func(ctx context.Context) {
		if len(batch) == 0 {
			return
		}
		err := b.publish(ctx, batch)
		switch {
		case err != nil:
			b.dropped.Add(float64(len(batch)))
			if !failing {
				// Logged on the transition only: an outage is one line,
				// not one per batch.
				b.log.Warn("redis publish failing, dropping changes", "channel", b.channel, "err", err)
				failing = true
			}
		default:
			b.sent.Add(float64(len(batch)))
			if failing {
				b.log.Info("redis publish recovered", "channel", b.channel)
				failing = false
			}
		}
		batch = batch[:0]
	}
	heartbeat := time.NewTicker(redisHeartbeat)
	defer heartbeat.Stop()
	lastSend := time.Now()
	for {
		select {
		case <-heartbeat.C:
			if time.Since(lastSend) < redisHeartbeat {
				continue
			}
			// Idle: say the last number sent. A failure costs nothing
			// but the next heartbeat's wait.
			_ = b.publish(ctx, nil)
			lastSend = time.Now()
		case <-ctx.Done():
			// Drain what Publish queued before Close, bounded in time.
			drainCtx, cancel := context.WithTimeout(context.Background(), redisSendTimeout)
			defer cancel()
			for {
				select {
				case c := <-b.out:
					batch = append(batch, c)
					if len(batch) == redisBatch {
						flush(drainCtx)
					}
				default:
					flush(drainCtx)
					return
				}
			}
		case c := <-b.out:
			batch = append(batch, c)
		more:
			for len(batch) < redisBatch {
				select {
				case c := <-b.out:
					batch = append(batch, c)
				default:
					break more
				}
			}
			flush(ctx)
			lastSend = time.Now()
		}
	}
}

// publish sends batch as the next envelope; an empty batch is a heartbeat
// and takes no new number. A failed envelope's number is not reused, so
// the others see the gap.
func (b *RedisBus) publish(ctx context.Context, batch []event.Change) error {
	if len(batch) > 0 {
		b.seq++
	}
	data, err := json.Marshal(envelope{Origin: b.origin, Seq: b.seq, Changes: batch})
	if err != nil {
		return fmt.Errorf("encode changes: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, redisSendTimeout)
	defer cancel()
	if err := b.client.Publish(ctx, b.channel, data).Err(); err != nil {
		return fmt.Errorf("publish to redis channel %s: %w", b.channel, err)
	}
	return nil
}

func (b *RedisBus) receive(ctx context.Context, msgs <-chan *redis.Message) {
	origins := make(map[string]*origin)
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			var env envelope
			if err := json.Unmarshal([]byte(m.Payload), &env); err != nil {
				b.bad.Inc()
				b.log.Debug("ignoring undecodable redis message", "channel", m.Channel, "err", err)
				continue
			}
			if env.Origin == b.origin {
				continue
			}
			b.checkSeq(origins, &env)
			for _, c := range env.Changes {
				b.local.Publish(c)
			}
			b.received.Add(float64(len(env.Changes)))
		}
	}
}

// checkSeq counts a gap when env's number is not the one that follows the
// last heard from its origin. The first envelope heard from an origin
// only sets where its numbers stand: what a process published before this
// one subscribed is in the store, which the statistics started from.
func (b *RedisBus) checkSeq(origins map[string]*origin, env *envelope) {
	now := time.Now()
	o, known := origins[env.Origin]
	if !known {
		if len(origins) >= maxOrigins {
			for k, v := range origins {
				if now.Sub(v.heard) > redisForget {
					delete(origins, k)
				}
			}
		}
		origins[env.Origin] = &origin{seq: env.Seq, heard: now}
		return
	}
	want := o.seq
	if len(env.Changes) > 0 {
		want++
	}
	if env.Seq > want {
		b.gaps.Add(env.Seq - want)
		b.missed.Add(float64(env.Seq - want))
		b.log.Warn("missed changes from another process; statistics will be rebuilt from the store",
			"channel", b.channel, "origin", env.Origin, "missed", env.Seq-want)
	}
	o.seq, o.heard = max(o.seq, env.Seq), now
}
