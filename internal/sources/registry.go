package sources

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// Lister reads every source.
type Lister interface {
	Sources(ctx context.Context) ([]store.Source, error)
}

// Registry holds the sources in memory, by write key, for the collector:
// a lookup is a map read. It reloads them every Refresh (a source created
// or revoked by another server, or by the CLI, counts from then), and on
// an unknown key at most once per MissRefresh, so a flood of made-up keys
// costs one query a second.
type Registry struct {
	db          Lister
	log         *slog.Logger
	refresh     time.Duration
	missRefresh time.Duration

	byKey   atomic.Pointer[map[string]store.Source]
	mu      sync.Mutex // one reload at a time
	loaded  time.Time
	lastErr error
}

// Registry defaults.
const (
	DefaultRefresh     = 5 * time.Second
	DefaultMissRefresh = time.Second
)

// NewRegistry returns a registry over db; Load or Run fills it.
func NewRegistry(db Lister, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{db: db, log: log.With("component", "sources"), refresh: DefaultRefresh, missRefresh: DefaultMissRefresh}
	empty := map[string]store.Source{}
	r.byKey.Store(&empty)
	return r
}

// Load reads the sources now.
func (r *Registry) Load(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loadLocked(ctx)
}

func (r *Registry) loadLocked(ctx context.Context) error {
	all, err := r.db.Sources(ctx)
	r.loaded = time.Now()
	if err != nil {
		if r.lastErr == nil {
			r.log.Warn("reading the sources failed; keeping the ones read before", "err", err)
		}
		r.lastErr = err
		return err
	}
	r.lastErr = nil
	m := make(map[string]store.Source, len(all))
	for _, s := range all {
		if s.RevokedAt == nil {
			m[s.WriteKey] = s
		}
	}
	r.byKey.Store(&m)
	return nil
}

// Run reloads the sources every Refresh until ctx ends.
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

// Lookup returns the active source of a write key. An unknown key reloads
// the sources first, unless a reload happened in the last MissRefresh.
// The error says the sources could not be read: an unknown key is then
// not known to be wrong (the collector answers 503, and the client
// retries).
func (r *Registry) Lookup(ctx context.Context, key string) (store.Source, bool, error) {
	if s, ok := (*r.byKey.Load())[key]; ok {
		return s, true, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A reload while this request waited may have brought the key.
	if s, ok := (*r.byKey.Load())[key]; ok {
		return s, true, nil
	}
	if time.Since(r.loaded) >= r.missRefresh || r.lastErr != nil && time.Since(r.loaded) >= r.missRefresh/10 {
		_ = r.loadLocked(ctx)
	}
	s, ok := (*r.byKey.Load())[key]
	if !ok && r.lastErr != nil {
		return store.Source{}, false, r.lastErr
	}
	return s, ok, nil
}
