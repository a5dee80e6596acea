// Package sources makes and finds the sites and apps that send events
// through the collector (docs/tracker.md): a source's id and write key,
// the checks on what a user gives for one, and the registry the collector
// looks keys up in without a database query per request.
package sources

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pulse-dev/pulse/internal/origin"
	"github.com/pulse-dev/pulse/internal/plan"
	"github.com/pulse-dev/pulse/internal/store"
)

// Prefixes of ids and keys: a key pasted into the wrong place is
// recognisable.
const (
	IDPrefix  = "src_"
	KeyPrefix = "pk_"
)

// MaxNameLen and MaxOrigins bound what a source holds.
const (
	MaxNameLen = 64
	MaxOrigins = 50
)

// Invalid is a refused field of a new source; its text names the field.
type Invalid struct {
	Field  string
	Reason string
}

func (e *Invalid) Error() string { return e.Field + ": " + e.Reason }

// IsInvalid reports whether err is an *Invalid.
func IsInvalid(err error) bool {
	var e *Invalid
	return errors.As(err, &e)
}

var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// random returns n random bytes in lower-case base32.
func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return enc.EncodeToString(b)
}

// New checks a new source's name and origins and gives it an id and a
// write key (160 random bits: not guessable, and not a secret either,
// since it is in every page of the site).
func New(name string, origins []string, settings store.SourceSettings, now time.Time) (store.Source, error) {
	name = strings.TrimSpace(name)
	if err := checkName(name); err != nil {
		return store.Source{}, err
	}
	norm, err := Origins(origins)
	if err != nil {
		return store.Source{}, err
	}
	if settings.Plan, err = plan.CheckMode(settings.Plan); err != nil {
		return store.Source{}, &Invalid{"settings.plan", err.Error()}
	}
	if err := store.CheckRetention(time.Duration(settings.Retention)); err != nil {
		return store.Source{}, &Invalid{"settings.retention", err.Error()}
	}
	return store.Source{
		ID:        IDPrefix + random(10),
		Name:      name,
		WriteKey:  KeyPrefix + random(20),
		Origins:   norm,
		Settings:  settings,
		CreatedAt: now.UTC().Truncate(time.Microsecond),
	}, nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return &Invalid{"name", "is required"}
	case len(name) > MaxNameLen:
		return &Invalid{"name", fmt.Sprintf("is %d bytes, over the limit of %d", len(name), MaxNameLen)}
	case !utf8.ValidString(name):
		return &Invalid{"name", "is not valid UTF-8"}
	case strings.HasPrefix(name, IDPrefix):
		// Commands take a name or an id; a name that looks like an id
		// could name another source.
		return &Invalid{"name", fmt.Sprintf("must not start with %q, which ids start with", IDPrefix)}
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return &Invalid{"name", "holds control or invisible characters"}
		}
	}
	return nil
}

// Origins normalises the origins of a source (origin.Normalize), without
// repeats. None is allowed: such a source takes no browser's requests,
// only those of servers and scripts (no Origin header).
func Origins(origins []string) ([]string, error) {
	if len(origins) > MaxOrigins {
		return nil, &Invalid{"origins", fmt.Sprintf("%d origins, over the limit of %d", len(origins), MaxOrigins)}
	}
	out := make([]string, 0, len(origins))
	seen := make(map[string]bool, len(origins))
	for i, o := range origins {
		n, err := origin.Normalize(o)
		if err != nil {
			return nil, &Invalid{fmt.Sprintf("origins[%d]", i), err.Error()}
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// Find returns the source a command names by id or by name.
func Find(all []store.Source, idOrName string) (store.Source, bool) {
	for _, s := range all {
		if s.ID == idOrName || (!strings.HasPrefix(idOrName, IDPrefix) && s.Name == idOrName) {
			return s, true
		}
	}
	return store.Source{}, false
}
