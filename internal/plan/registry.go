package plan

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// Reader reads the stored plan.
type Reader interface {
	PlanEntries(ctx context.Context) ([]store.PlanEntry, error)
}

// Registry holds the compiled plan for the collector and reloads it every
// Refresh, so that a change made by another server or by the CLI counts
// from then; a change made through this server's API counts at once
// (Load).
type Registry struct {
	db      Reader
	log     *slog.Logger
	refresh time.Duration

	cur     atomic.Pointer[Plan]
	mu      sync.Mutex // one load at a time
	lastErr error
}

// DefaultRefresh is how often the plan is read again.
const DefaultRefresh = 5 * time.Second

// ErrNotLoaded: the plan has not been read yet, so no event can be held
// to it.
var ErrNotLoaded = errors.New("the tracking plan could not be read yet")

// NewRegistry returns a registry over db; Load or Run fills it.
func NewRegistry(db Reader, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registry{db: db, log: log.With("component", "plan"), refresh: DefaultRefresh}
}

// Load reads and compiles the plan now. On failure the plan read before
// stays in force.
func (r *Registry) Load(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	entries, err := r.db.PlanEntries(ctx)
	var p *Plan
	if err == nil {
		// The API and the CLI compile before they store; a schema the
		// library no longer takes is the one way here.
		p, err = Compile(entries)
	}
	if err != nil {
		if r.lastErr == nil {
			r.log.Warn("reading the tracking plan failed; keeping the one read before", "err", err)
		}
		r.lastErr = err
		return err
	}
	r.lastErr = nil
	r.cur.Store(p)
	return nil
}

// Run reloads the plan every Refresh until ctx ends.
func (r *Registry) Run(ctx context.Context) {
	t := time.NewTicker(r.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.Load(ctx)
		}
	}
}

// Current returns the plan in force; ErrNotLoaded before the first
// successful load.
func (r *Registry) Current() (*Plan, error) {
	if p := r.cur.Load(); p != nil {
		return p, nil
	}
	return nil, ErrNotLoaded
}
