package store

import (
	"context"
	"errors"
	"time"

	"github.com/pulse-dev/pulse/internal/ledger"
)

// Source is a site or app that sends events through the collector
// (docs/tracker.md).
type Source struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// WriteKey is public: it sits in the site's script tag. What keeps
	// strangers out is Origins (for browsers) and the rate limits.
	WriteKey string `json:"write_key"`
	// Origins are the browser origins allowed to send with the key, as
	// "https://shop.example" or host patterns ("*.shop.example").
	Origins   []string       `json:"origins"`
	Settings  SourceSettings `json:"settings"`
	CreatedAt time.Time      `json:"created_at"`
	// RevokedAt is set once the source is deleted: its key is refused,
	// its ledger kept.
	RevokedAt *time.Time `json:"revoked_at"`
}

// SourceSettings are a source's own settings.
type SourceSettings struct {
	// RespectDNT drops, at the collector, events of browsers that send
	// Do-Not-Track or Global Privacy Control.
	RespectDNT bool `json:"respect_dnt"`
	// Plan is how the collector holds the source's events to the
	// tracking plan: "" or "off" (not at all), "warn" (stored, counted
	// in the warnings) or "strict" (refused with the reason, counted).
	Plan string `json:"plan,omitempty"`
}

// Errors of the sources.
var (
	// ErrSourceExists: another source has the name or the write key.
	ErrSourceExists = errors.New("a source with this name exists")
)

// Sources keeps the sources.
type Sources interface {
	// CreateSource stores a new source; ErrSourceExists when the name or
	// the key is taken (by a revoked source too).
	CreateSource(ctx context.Context, s Source) error
	// Sources returns every source, revoked ones too, oldest first.
	Sources(ctx context.Context) ([]Source, error)
	// RevokeSource marks a source revoked at at and returns it; a source
	// already revoked keeps its first time. ErrNotFound when there is
	// none.
	RevokeSource(ctx context.Context, id string, at time.Time) (Source, error)
	// UpdateSource replaces a source's origins and settings and returns
	// it; ErrNotFound when there is none.
	UpdateSource(ctx context.Context, id string, origins []string, settings SourceSettings) (Source, error)
}

// Ledger keeps the delivery ledger (package ledger). The store's part is
// written by Write, in the batch's transaction, from the records of
// events that carry a source_id (their Delivery too); a redelivery adds
// only a duplicate. Retain deletes what is older than ledger.Keep.
type Ledger interface {
	// AddLedger adds the collector's counts, one point per source and
	// bucket (T is any time in the bucket).
	AddLedger(ctx context.Context, points []ledger.Point) error
	// LedgerSeries returns, per source and step of [from, to) that has
	// counts, the summed counts; steps start at from + k*step. An empty
	// sourceID means every source.
	LedgerSeries(ctx context.Context, sourceID string, from, to time.Time, step time.Duration) ([]ledger.Point, error)
}
