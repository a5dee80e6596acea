package insights

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulse-dev/pulse/internal/store"
)

// Filter operators. Values compare as text: a property's string value
// unquoted, any other value as its JSON (42, true); a missing property is
// "", and is_set is true when the value is not "".
const (
	OpEquals    = "equals"
	OpNotEquals = "not_equals"
	OpContains  = "contains"
	OpIn        = "in"
	OpIsSet     = "is_set"
)

// MaxFilters bounds a step's filters, and MaxFilterValues an "in" list.
const (
	MaxFilters      = 10
	MaxFilterValues = 50
	maxValueLen     = 200
)

// Filter keeps the events whose Field matches.
type Filter struct {
	// Field is page, element_id, source_id, session_id or
	// properties.<key>.
	Field string `json:"field"`
	Op    string `json:"op"`
	// Value is the operand of equals, not_equals and contains.
	Value string `json:"value,omitempty"`
	// Values is the operand of in.
	Values []string `json:"values,omitempty"`
}

func (f Filter) check() error {
	if err := store.CheckField(f.Field); err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	switch f.Op {
	case OpEquals, OpNotEquals, OpContains:
		if len(f.Values) > 0 {
			return fmt.Errorf("filter on %s: %s takes value, not values", f.Field, f.Op)
		}
		if f.Op == OpContains && f.Value == "" {
			return fmt.Errorf("filter on %s: contains needs a value", f.Field)
		}
	case OpIn:
		if len(f.Values) == 0 || len(f.Values) > MaxFilterValues {
			return fmt.Errorf("filter on %s: in takes 1 to %d values", f.Field, MaxFilterValues)
		}
		if f.Value != "" {
			return fmt.Errorf("filter on %s: in takes values, not value", f.Field)
		}
	case OpIsSet:
		if f.Value != "" || len(f.Values) > 0 {
			return fmt.Errorf("filter on %s: is_set takes no value", f.Field)
		}
	default:
		return fmt.Errorf("filter on %s: op must be equals, not_equals, contains, in or is_set, not %q", f.Field, f.Op)
	}
	for _, v := range append([]string{f.Value}, f.Values...) {
		if len(v) > maxValueLen {
			return fmt.Errorf("filter on %s: a value is longer than %d bytes", f.Field, maxValueLen)
		}
	}
	return nil
}

func (f Filter) match(v string) bool {
	switch f.Op {
	case OpEquals:
		return v == f.Value
	case OpNotEquals:
		return v != f.Value
	case OpContains:
		return strings.Contains(v, f.Value)
	case OpIn:
		return slices.Contains(f.Values, v)
	default: // OpIsSet
		return v != ""
	}
}

// term is the filter as a store.ScanTerm, for the store to apply where it
// reads the rows; false when the store cannot (an op other than equals or
// in, or a property, whose text the store does not derive).
func (f Filter) term() (store.ScanTerm, bool) {
	if !slices.Contains(store.ScanFields, f.Field) {
		return store.ScanTerm{}, false
	}
	switch f.Op {
	case OpEquals:
		return store.ScanTerm{Field: f.Field, Values: []string{f.Value}}, true
	case OpIn:
		return store.ScanTerm{Field: f.Field, Values: f.Values}, true
	}
	return store.ScanTerm{}, false
}

// scanWhere is what a scan serving several filter sets (an event is kept
// when it passes any of them) can ask the store to apply: each set's
// equals and in filters on columns. Nil when a set has none, since every
// event may then pass it. The caller still applies every filter.
func scanWhere(sets [][]Filter) []store.ScanMatch {
	where := make([]store.ScanMatch, 0, len(sets))
	for _, fs := range sets {
		var m store.ScanMatch
		for _, f := range fs {
			if t, ok := f.term(); ok {
				m = append(m, t)
			}
		}
		if len(m) == 0 {
			return nil
		}
		where = append(where, m)
	}
	return where
}

func checkFilters(fs []Filter) error {
	if len(fs) > MaxFilters {
		return fmt.Errorf("at most %d filters, not %d", MaxFilters, len(fs))
	}
	for _, f := range fs {
		if err := f.check(); err != nil {
			return err
		}
	}
	return nil
}

// columns lists the fields a set of filters and a breakdown read, each
// once, and where each filter's field is in that list.
type columns struct {
	fields []string
	index  map[string]int
}

func (c *columns) add(field string) int {
	if c.index == nil {
		c.index = map[string]int{}
	}
	if i, ok := c.index[field]; ok {
		return i
	}
	c.index[field] = len(c.fields)
	c.fields = append(c.fields, field)
	return len(c.fields) - 1
}
