package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Funnels and retention follow users through their raw events, so they
// read the events of one type over a time range through an index on
// (event_type, timestamp): the rows of the range, never the table.

// Fields a scan can return besides the user and the time. A property is
// "properties." and its key.
const (
	FieldPage      = "page"
	FieldElement   = "element_id"
	FieldSource    = "source_id"
	FieldSession   = "session_id"
	PropertyPrefix = "properties."
)

// ScanFields are the event columns a scan can return.
var ScanFields = []string{FieldPage, FieldElement, FieldSource, FieldSession}

// propertyKey is what a property key may be: one top-level key, so that
// neither store reads it as a path.
var propertyKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// CheckField reports a field a scan cannot return, naming it.
func CheckField(f string) error {
	if k, ok := strings.CutPrefix(f, PropertyPrefix); ok {
		if !propertyKey.MatchString(k) {
			return fmt.Errorf("property key %q: use 1 to 64 letters, digits, '_' or '-'", k)
		}
		return nil
	}
	for _, s := range ScanFields {
		if f == s {
			return nil
		}
	}
	return fmt.Errorf("unknown field %q: use %s or properties.<key>", f, strings.Join(ScanFields, ", "))
}

// ScanQuery selects the events of one type whose time is in [From, To).
type ScanQuery struct {
	EventType string
	From, To  time.Time
	// Fields are returned in ScanRow.Values, in this order. A property's
	// value is its JSON text with a string unquoted; "" when absent.
	Fields []string
	// Where, when not empty, keeps only the events that match at least
	// one of its conjunctions. The store applies it where the rows are
	// read, so that the events a funnel's step or a trend's filter would
	// drop are never handed over (most of a page_view scan, for a step on
	// one page).
	Where []ScanMatch
}

// ScanMatch is a conjunction: an event matches when every term does.
type ScanMatch []ScanTerm

// ScanTerm matches the events whose Field, one of ScanFields (a column,
// not a property: a property's text is derived, see PropertyText), is
// exactly one of Values.
type ScanTerm struct {
	Field  string
	Values []string
}

// MaxScanWhere bounds what a scan's Where may hold: conjunctions, terms in
// each, values in each term.
const (
	MaxScanMatches = 20
	MaxScanTerms   = 10
	MaxScanValues  = 50
)

// CheckWhere reports what a scan's Where may not hold, naming it.
func CheckWhere(where []ScanMatch) error {
	if len(where) > MaxScanMatches {
		return fmt.Errorf("scan: at most %d alternatives, not %d", MaxScanMatches, len(where))
	}
	for _, m := range where {
		if len(m) == 0 || len(m) > MaxScanTerms {
			return fmt.Errorf("scan: an alternative takes 1 to %d terms, not %d", MaxScanTerms, len(m))
		}
		for _, t := range m {
			if !slices.Contains(ScanFields, t.Field) {
				return fmt.Errorf("scan: a term's field must be one of %s, not %q", strings.Join(ScanFields, ", "), t.Field)
			}
			if len(t.Values) == 0 || len(t.Values) > MaxScanValues {
				return fmt.Errorf("scan: a term on %s takes 1 to %d values, not %d", t.Field, MaxScanValues, len(t.Values))
			}
		}
	}
	return nil
}

// WhereSQL writes where as an SQL condition on the scanned columns:
// "((a IN (..) AND b IN (..)) OR (..))". param appends a term's values to
// args and returns the test of a column against them ("IN (?, ?)" or
// "= ANY($4::text[])"), in the store's placeholder style.
func WhereSQL(where []ScanMatch, args []any, param func(args []any, values []string) (string, []any)) (string, []any) {
	alts := make([]string, len(where))
	for i, m := range where {
		terms := make([]string, len(m))
		for j, t := range m {
			var ph string
			ph, args = param(args, t.Values)
			terms[j] = t.Field + " " + ph // the field is one of ScanFields (CheckWhere)
		}
		alts[i] = "(" + strings.Join(terms, " AND ") + ")"
	}
	return "(" + strings.Join(alts, " OR ") + ")", args
}

// ScanRow is one scanned event.
type ScanRow struct {
	UserID string
	// Micros is the event's time in Unix microseconds.
	Micros int64
	Values []string
}

// Scanner is the store's part of funnels and retention.
type Scanner interface {
	// ScanEvents calls fn for each event q selects, in time order. fn's
	// row and its Values are reused after fn returns. An error from fn
	// stops the scan and is returned.
	ScanEvents(ctx context.Context, q ScanQuery, fn func(*ScanRow) error) error
}

// PropertyText turns the JSON text of a property value into the text a
// filter compares: a string unquoted, anything else as written.
func PropertyText(raw []byte) string {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		// Without an escape, a JSON string's text is its bytes between
		// the quotes (raw is valid JSON: the store parsed it). A trend by
		// a property turns thousands of values a query.
		return string(raw[1 : n-1])
	}
	if len(raw) >= 2 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s
		}
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// PropertyOf is the JSON text of key's value in the properties object
// props, as written, or nil when absent: what a store's JSON operator
// reads, for the properties a store's own operator cannot read.
func PropertyOf(props []byte, key string) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(props, &obj) != nil {
		return nil
	}
	return obj[key]
}
