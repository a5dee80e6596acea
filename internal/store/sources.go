package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
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
	// StoreIP has the collector keep the client's IP address with each
	// event, as the property ClientIPProperty. Off (the default), no
	// address is stored anywhere.
	StoreIP bool `json:"store_ip"`
	// Retention, when set, deletes the source's events older than it
	// (RetainSources). It can only shorten what the server-wide
	// retention keeps: events of the source older than that go all the
	// same. 0 (absent) leaves the source to the server-wide retention.
	Retention Age `json:"retention,omitempty"`
}

// ClientIPProperty is the property the collector stores the client's IP
// address in when a source asks for it (SourceSettings.StoreIP). The
// collector refuses events that carry it themselves, so that its value
// is always the collector's.
const ClientIPProperty = "pulse_client_ip"

// Bounds of a source's retention.
const (
	MinSourceRetention = time.Hour
	MaxSourceRetention = 10 * 365 * 24 * time.Hour
)

// Age is a duration written in JSON as a string, in days ("30d") when it
// is a whole number of them and as a Go duration ("36h0m0s") otherwise;
// either form, or any Go duration, is read (ParseAge).
type Age time.Duration

// ParseAge reads a duration as the retention flags take it: a Go
// duration such as 720h or a number of days such as 30d or 1.5d.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) > float64(math.MaxInt64/int64(24*time.Hour)) {
			return 0, fmt.Errorf("%q is not a duration such as 720h or 30d", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 720h or 30d", s)
	}
	return d, nil
}

// String writes a in days when it is a whole number of them.
func (a Age) String() string {
	d := time.Duration(a)
	if d != 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// MarshalJSON writes a as a JSON string (String).
func (a Age) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON reads a JSON string (ParseAge).
func (a *Age) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("must be a string such as \"720h\" or \"30d\"")
	}
	d, err := ParseAge(s)
	if err != nil {
		return err
	}
	*a = Age(d)
	return nil
}

// CheckRetention checks a source's retention: 0 (none) or within
// [MinSourceRetention, MaxSourceRetention].
func CheckRetention(d time.Duration) error {
	switch {
	case d == 0:
		return nil
	case d < MinSourceRetention:
		return fmt.Errorf("%s is under the minimum of 1h (0 leaves the source to the server-wide retention)", Age(d))
	case d > MaxSourceRetention:
		return fmt.Errorf("%s is over the maximum of %s", Age(d), Age(MaxSourceRetention))
	}
	return nil
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
	// RetainSources deletes, for each source of before, its events
	// stored (created_at) before the time, and takes them off every
	// aggregate as Retain does; it returns the number deleted. Each
	// source keeps a cursor: every event of the source below it has
	// gone, and a pass walks the ids from the cursor to the source's cut
	// only, so its cost follows the rows stored since the last pass, not
	// the table. The processing log has no source and is left to Retain.
	RetainSources(ctx context.Context, before map[string]time.Time) (int64, error)
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
