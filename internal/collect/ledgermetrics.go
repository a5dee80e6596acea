package collect

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/ledger"
)

// LedgerReader reads the ledger's counts (store.Ledger).
type LedgerReader interface {
	LedgerSeries(ctx context.Context, sourceID string, from, to time.Time, step time.Duration) ([]ledger.Point, error)
}

// ledgerMetrics exports the ledger's last 24 hours per source, read from
// the store at each scrape: what the store counted (stored, duplicates,
// gaps) is known only there, and a gauge over a window is what an alert
// on gaps needs.
type ledgerMetrics struct {
	db   LedgerReader
	log  *slog.Logger
	desc *prometheus.Desc
	now  func() time.Time
}

// LedgerWindow is the span the ledger's gauges cover.
const LedgerWindow = 24 * time.Hour

// NewLedgerMetrics returns the collector of the ledger's gauges.
func NewLedgerMetrics(db LedgerReader, log *slog.Logger) prometheus.Collector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ledgerMetrics{
		db: db, log: log.With("component", "collect"), now: time.Now,
		desc: prometheus.NewDesc("pulse_ledger_last_24h_events",
			"The delivery ledger over the last 24 hours, per source and count: numbered, received, rejected, dnt_dropped, stored, duplicates, dropped_client, late, skew_corrected and gaps (numbered but never stored).",
			[]string{"source", "count"}, nil),
	}
}

func (m *ledgerMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.desc }

func (m *ledgerMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	to := m.now()
	points, err := m.db.LedgerSeries(ctx, "", to.Add(-LedgerWindow), to.Add(ledger.Bucket), LedgerWindow+ledger.Bucket)
	if err != nil {
		// A scrape without these gauges says the store did not answer;
		// the scrape's other metrics still count.
		m.log.Warn("reading the ledger for the metrics failed", "err", err)
		return
	}
	totals := map[string]*ledger.Counts{}
	for _, p := range points {
		if totals[p.SourceID] == nil {
			totals[p.SourceID] = &ledger.Counts{}
		}
		totals[p.SourceID].Add(p.Counts)
	}
	for id, c := range totals {
		for _, v := range []struct {
			name string
			n    int64
		}{
			{"numbered", c.Numbered}, {"received", c.Received}, {"rejected", c.Rejected}, {"dnt_dropped", c.DNTDropped},
			{"stored", c.Stored}, {"duplicates", c.Duplicates}, {"dropped_client", c.DroppedClient},
			{"late", c.Late}, {"skew_corrected", c.SkewCorrected}, {"gaps", c.Gaps()},
		} {
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, float64(v.n), id, v.name)
		}
	}
}
