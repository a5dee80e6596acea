package collect

import (
	"context"
	"time"

	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/series"
)

// FlushEvery is how often the collector's ledger counts are written.
const FlushEvery = time.Second

// collectorPartition marks the ledger rows the collector writes.
const collectorPartition = -1

// count adds a request's counts to those waiting to be written, and to the
// metrics.
func (c *Collector) count(sourceID string, now time.Time, n ledger.Counts) {
	if n.Zero() {
		return
	}
	c.metrics.add(sourceID, n)
	k := ledger.Key{Bucket: series.BucketOf(now), SourceID: sourceID, Partition: collectorPartition}
	c.mu.Lock()
	p := c.pending[k]
	p.Add(n)
	c.pending[k] = p
	c.mu.Unlock()
}

// Run writes the ledger counts every FlushEvery until ctx ends, then once
// more.
func (c *Collector) Run(ctx context.Context) {
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// The last counts get a moment of their own to be written.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			c.Flush(fctx)
			cancel()
			return
		case <-t.C:
			c.Flush(ctx)
		}
	}
}

// Flush writes the counts and warnings waiting. Those that could not be
// written wait for the next flush.
func (c *Collector) Flush(ctx context.Context) {
	c.flushWarnings(ctx)
	c.mu.Lock()
	taken := c.pending
	c.pending = make(map[ledger.Key]ledger.Counts, len(taken))
	c.mu.Unlock()
	if len(taken) == 0 {
		return
	}
	points := make([]ledger.Point, 0, len(taken))
	for k, n := range taken {
		points = append(points, ledger.Point{T: time.Unix(k.Bucket, 0).UTC(), SourceID: k.SourceID, Counts: n})
	}
	if err := c.sink.AddLedger(ctx, points); err != nil {
		c.log.Warn("writing the ledger's counts failed; keeping them for the next try", "err", err)
		c.mu.Lock()
		for k, n := range taken {
			p := c.pending[k]
			p.Add(n)
			c.pending[k] = p
		}
		c.mu.Unlock()
	}
}
