// Package privacy masks the personal fields of events for the readers who
// may not see them: a viewer or an operator reads a pseudonym where the
// value was, on every path that shows an event, a message or a value of
// such a field.
package privacy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulse-dev/pulse/internal/store"
)

// Fields a team may declare personal, besides properties.<path>.
const (
	FieldUserID      = "user_id"
	FieldSessionID   = "session_id"
	FieldAnonymousID = "anonymous_id"
)

// propertiesPrefix starts a property path: properties.email,
// properties.address.city.
const propertiesPrefix = "properties."

// MaxFields bounds the fields declared personal; MaxFieldLen one path.
const (
	MaxFields   = 50
	MaxFieldLen = 200
)

// DefaultFields are personal until a team says otherwise: the ids that
// name a person or their visit.
var DefaultFields = []string{FieldAnonymousID, FieldSessionID, FieldUserID} // sorted, as ParseFields returns them

// AlwaysPersonal are personal whatever a team declares: the client's IP
// address the collector keeps for the sources that ask for it
// (store.ClientIPProperty). Every Set holds them, but its List does not:
// they are not the team's to take back.
var AlwaysPersonal = []string{propertiesPrefix + store.ClientIPProperty}

// ParseFields checks a declaration and returns it sorted without
// duplicates. Each entry is user_id, session_id, anonymous_id or a
// property path properties.<key>[.<key>...].
func ParseFields(in []string) ([]string, error) {
	if len(in) > MaxFields {
		return nil, fmt.Errorf("fields: at most %d may be declared personal", MaxFields)
	}
	out := make([]string, 0, len(in))
	for _, f := range in {
		f = strings.TrimSpace(f)
		if err := checkField(f); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func checkField(f string) error {
	switch {
	case f == FieldUserID || f == FieldSessionID || f == FieldAnonymousID:
		return nil
	case len(f) > MaxFieldLen:
		return fmt.Errorf("fields: %.40q…: longer than %d bytes", f, MaxFieldLen)
	case !strings.HasPrefix(f, propertiesPrefix):
		return fmt.Errorf("fields: %q: must be user_id, session_id, anonymous_id or properties.<key>", f)
	}
	for _, k := range strings.Split(strings.TrimPrefix(f, propertiesPrefix), ".") {
		if k == "" {
			return fmt.Errorf("fields: %q: a property path has no empty key", f)
		}
	}
	return nil
}

// Set is a parsed declaration, read by the masking.
type Set struct {
	userID, sessionID, anonymousID bool
	// props holds each property path split into its keys.
	props [][]string
	list  []string
}

// NewSet builds the Set of fields, which ParseFields has checked, and
// AlwaysPersonal.
func NewSet(fields []string) *Set {
	s := &Set{list: slices.Clone(fields)}
	for _, f := range append(slices.Clone(fields), AlwaysPersonal...) {
		switch f {
		case FieldUserID:
			s.userID = true
		case FieldSessionID:
			s.sessionID = true
		case FieldAnonymousID:
			s.anonymousID = true
		default:
			if p, ok := strings.CutPrefix(f, propertiesPrefix); ok {
				s.props = append(s.props, strings.Split(p, "."))
			}
		}
	}
	return s
}

// List returns the declared fields, sorted (without AlwaysPersonal).
func (s *Set) List() []string { return slices.Clone(s.list) }

// Personal reports whether field (a name as the API takes it: user_id,
// page, properties.plan) is personal or holds a personal path: a filter
// or a breakdown on it would reveal masked values. properties.address is
// personal when properties.address.city is, and so is
// properties.address.city when properties.address is.
func (s *Set) Personal(field string) bool {
	switch field {
	case FieldUserID:
		return s.userID
	case FieldSessionID:
		return s.sessionID
	case FieldAnonymousID:
		return s.anonymousID
	}
	p, ok := strings.CutPrefix(field, propertiesPrefix)
	if !ok {
		return false
	}
	keys := strings.Split(p, ".")
	for _, d := range s.props {
		n := min(len(d), len(keys))
		if slices.EqualFunc(d[:n], keys[:n], strings.EqualFold) {
			return true
		}
	}
	return false
}
