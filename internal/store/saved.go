package store

import (
	"context"
	"time"
)

// SavedInsight is an insight a team keeps: a trend, funnel or retention
// view by its page's parameters, under a name, pinned to the dashboard or
// not. The parameters are the page's URL query, so a saved insight opens
// exactly as it was saved, and reads live data each time.
type SavedInsight struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Kind is the page: trend, funnel or retention.
	Kind string `json:"kind"`
	// Query is the page's URL parameters, as "type=signup&breakdown=page".
	Query     string    `json:"query"`
	Pinned    bool      `json:"pinned"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// InsightChange is what an update sets; nil fields are kept.
type InsightChange struct {
	Name   *string
	Query  *string
	Pinned *bool
	At     time.Time
}

// SavedInsights keeps the saved insights.
type SavedInsights interface {
	// SaveInsight stores a new saved insight.
	SaveInsight(ctx context.Context, s SavedInsight) error
	// SavedInsightList returns every saved insight, oldest first.
	SavedInsightList(ctx context.Context) ([]SavedInsight, error)
	// UpdateInsight applies c and returns the insight; ErrNotFound when
	// there is none.
	UpdateInsight(ctx context.Context, id string, c InsightChange) (SavedInsight, error)
	// DeleteInsight deletes one; ErrNotFound when there is none.
	DeleteInsight(ctx context.Context, id string) error
}
