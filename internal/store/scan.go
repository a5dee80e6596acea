package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
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
