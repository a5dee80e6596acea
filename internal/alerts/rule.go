// Package alerts evaluates alert rules on the pipeline's and the product's
// signals and notifies webhooks when a rule fires or resolves. Rules read
// the group monitor, the running totals and the rollups, never the events:
// evaluating them costs the same whatever the events stored.
package alerts

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Signals a rule watches.
const (
	// SignalLagSeconds is the age of the consumer group's oldest
	// unprocessed record.
	SignalLagSeconds = "lag_seconds"
	// SignalConsumers is the number of members of the consumer group: a
	// rule "below 2" fires when one of two consumers is gone.
	SignalConsumers = "consumers"
	// SignalDLQRate is the messages dead-lettered per minute over the
	// window.
	SignalDLQRate = "dlq_rate"
	// SignalErrorRate is the percentage of the messages finished over the
	// window that failed or were dead-lettered.
	SignalErrorRate = "error_rate"
	// SignalIngestVsLastWeek is the events of the window as a percentage
	// of those of the same window a week before.
	SignalIngestVsLastWeek = "ingest_vs_last_week"
	// SignalEventCount is the events of the window, of one type and page
	// when the rule names them; with Compare "previous_period", as a
	// percentage of the window before.
	SignalEventCount = "event_count"
)

// Signals lists every signal, in the order the console offers them.
var Signals = []string{SignalLagSeconds, SignalConsumers, SignalDLQRate, SignalErrorRate, SignalIngestVsLastWeek, SignalEventCount}

// Comparisons and webhook bodies.
const (
	OpAbove = "above"
	OpBelow = "below"

	CompareValue          = "value"
	ComparePreviousPeriod = "previous_period"

	FormatJSON  = "json"
	FormatSlack = "slack"
)

// Bounds of a rule.
const (
	MaxNameLen  = 100
	MaxURLLen   = 2048
	MinWindow   = time.Minute
	MaxWindow   = 24 * time.Hour
	MaxFor      = 24 * time.Hour
	MinRepeat   = time.Minute
	MaxRepeat   = 7 * 24 * time.Hour
	maxTypeLen  = 64
	maxPageLen  = 2048
	maxRules    = 200
	maxRuleFile = 1 << 20
)

// MaxRules bounds the rules of a deployment, the console's and the file's
// together: each is evaluated every interval.
const MaxRules = maxRules

// Rule is an alert rule: a signal compared with a threshold, for a
// duration, notified to a webhook.
type Rule struct {
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name" yaml:"name"`
	// Signal is one of Signals.
	Signal string `json:"signal" yaml:"signal"`
	// EventType and Page narrow SignalEventCount; empty: any.
	EventType string `json:"event_type,omitempty" yaml:"event_type"`
	Page      string `json:"page,omitempty" yaml:"page"`
	// Compare is CompareValue or ComparePreviousPeriod (event_count only).
	Compare string `json:"compare,omitempty" yaml:"compare"`
	// Window is the period a rate or a count is taken over.
	Window Duration `json:"window,omitempty" yaml:"window"`
	// Op is OpAbove or OpBelow.
	Op        string  `json:"op" yaml:"op"`
	Threshold float64 `json:"threshold" yaml:"threshold"`
	// For is how long the threshold must be crossed before the rule fires.
	For Duration `json:"for" yaml:"for"`
	// Hysteresis is how far back past the threshold the signal must go
	// before a firing rule resolves, so that a signal hovering at the
	// threshold does not fire and resolve on every evaluation.
	Hysteresis float64 `json:"hysteresis" yaml:"hysteresis"`
	// Repeat is how often a rule still firing notifies again; 0: once.
	Repeat Duration `json:"repeat" yaml:"repeat"`
	// WebhookURL receives the notifications; empty: none (the history
	// and the charts still show the rule's changes).
	WebhookURL    string `json:"webhook_url" yaml:"webhook_url"`
	WebhookFormat string `json:"webhook_format" yaml:"webhook_format"`
	Enabled       bool   `json:"enabled" yaml:"-"`
}

// Duration is a time.Duration written as Go writes one ("90s", "5m",
// "1h30m") in JSON and YAML.
type Duration time.Duration

// D is d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as "5m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "5m" (or 0).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if json.Unmarshal(b, &n) == nil && n == 0 {
			*d = 0
			return nil
		}
		return &DurationError{Raw: string(b)}
	}
	return d.parse(s)
}

// UnmarshalYAML reads "5m" (or 0).
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Value == "0" {
		*d = 0
		return nil
	}
	return d.parse(n.Value)
}

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return &DurationError{Raw: strconv.Quote(s)}
	}
	*d = Duration(v)
	return nil
}

// DurationError is a duration that does not read as one.
type DurationError struct{ Raw string }

func (e *DurationError) Error() string { return e.FieldMessage() }

// FieldMessage says what is wrong, for the member that holds the value.
func (e *DurationError) FieldMessage() string {
	return fmt.Sprintf("a duration is a string such as \"90s\" or \"5m\", not %s", e.Raw)
}

var (
	idPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	typePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
)

// Normalize fills a rule's defaults: enabled is the caller's, the rest
// (compare, format, window) take their usual value when empty.
func (r *Rule) Normalize() {
	r.Name = strings.TrimSpace(r.Name)
	r.WebhookURL = strings.TrimSpace(r.WebhookURL)
	if r.Compare == "" && r.Signal == SignalEventCount {
		r.Compare = CompareValue
	}
	if r.WebhookFormat == "" {
		r.WebhookFormat = FormatJSON
	}
	if r.Window == 0 && windowed(r.Signal) {
		r.Window = Duration(5 * time.Minute)
	}
}

// windowed says whether a signal is taken over a window.
func windowed(signal string) bool {
	return signal != SignalLagSeconds && signal != SignalConsumers
}

// Validate reports the first thing wrong with a normalized rule, naming
// its field. The id is checked only when checkID is set (a rules file's
// ids are its own; the API makes its own).
func (r *Rule) Validate(checkID bool) error {
	if checkID && !idPattern.MatchString(r.ID) {
		return fmt.Errorf("id: must match %s, not %q", idPattern, r.ID)
	}
	if r.Name == "" {
		return fmt.Errorf("name: required")
	}
	if utf8.RuneCountInString(r.Name) > MaxNameLen || !utf8.ValidString(r.Name) || strings.ContainsFunc(r.Name, unicode.IsControl) {
		return fmt.Errorf("name: at most %d characters, no control characters", MaxNameLen)
	}
	if !slices.Contains(Signals, r.Signal) {
		return fmt.Errorf("signal: must be one of %s, not %q", strings.Join(Signals, ", "), r.Signal)
	}
	if r.Op != OpAbove && r.Op != OpBelow {
		return fmt.Errorf("op: must be above or below, not %q", r.Op)
	}
	if r.Threshold != r.Threshold || r.Threshold < 0 || r.Threshold > 1e12 {
		return fmt.Errorf("threshold: must be a number from 0 to 1e12")
	}
	if r.Hysteresis != r.Hysteresis || r.Hysteresis < 0 || r.Hysteresis > 1e12 {
		return fmt.Errorf("hysteresis: must be a number from 0 to 1e12")
	}
	if r.Op == OpAbove && r.Hysteresis > r.Threshold {
		return fmt.Errorf("hysteresis: %g is more than the threshold %g: the rule could never resolve", r.Hysteresis, r.Threshold)
	}
	if r.Signal == SignalEventCount {
		if r.EventType != "" && (len(r.EventType) > maxTypeLen || !typePattern.MatchString(r.EventType)) {
			return fmt.Errorf("event_type: must match %s, not %q", typePattern, r.EventType)
		}
		if len(r.Page) > maxPageLen || !utf8.ValidString(r.Page) || strings.ContainsFunc(r.Page, unicode.IsControl) {
			return fmt.Errorf("page: at most %d bytes, no control characters", maxPageLen)
		}
		if r.Compare != CompareValue && r.Compare != ComparePreviousPeriod {
			return fmt.Errorf("compare: must be value or previous_period, not %q", r.Compare)
		}
	} else {
		if r.EventType != "" || r.Page != "" {
			return fmt.Errorf("event_type: only an event_count rule narrows by event type or page")
		}
		if r.Compare != "" {
			return fmt.Errorf("compare: only an event_count rule compares with the previous period")
		}
	}
	if windowed(r.Signal) {
		if r.Window.D() < MinWindow || r.Window.D() > MaxWindow || r.Window.D()%time.Minute != 0 {
			return fmt.Errorf("window: must be whole minutes from %v to %v, not %v", MinWindow, MaxWindow, r.Window.D())
		}
	} else if r.Window != 0 {
		return fmt.Errorf("window: %s is read as it stands, it takes no window", r.Signal)
	}
	if r.For.D() < 0 || r.For.D() > MaxFor {
		return fmt.Errorf("for: must be from 0 to %v, not %v", MaxFor, r.For.D())
	}
	if r.Repeat != 0 && (r.Repeat.D() < MinRepeat || r.Repeat.D() > MaxRepeat) {
		return fmt.Errorf("repeat: must be 0 (notify once) or from %v to %v, not %v", MinRepeat, MaxRepeat, r.Repeat.D())
	}
	if r.WebhookFormat != FormatJSON && r.WebhookFormat != FormatSlack {
		return fmt.Errorf("webhook_format: must be json or slack, not %q", r.WebhookFormat)
	}
	if r.WebhookURL != "" {
		if len(r.WebhookURL) > MaxURLLen {
			return fmt.Errorf("webhook_url: at most %d bytes", MaxURLLen)
		}
		u, err := url.Parse(r.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return fmt.Errorf("webhook_url: must be an http or https URL with a host and no credentials before it, not %q", r.WebhookURL)
		}
	}
	return nil
}

// Describe is the rule in words: "lag_seconds above 5 for 1m0s".
func (r *Rule) Describe() string {
	var b strings.Builder
	b.WriteString(r.Signal)
	if r.EventType != "" {
		fmt.Fprintf(&b, " of %s", r.EventType)
	}
	if r.Page != "" {
		fmt.Fprintf(&b, " on %s", r.Page)
	}
	if windowed(r.Signal) {
		fmt.Fprintf(&b, " over %v", r.Window.D())
	}
	fmt.Fprintf(&b, " %s %g", r.Op, r.Threshold)
	switch {
	case r.Signal == SignalIngestVsLastWeek:
		b.WriteString("% of the same window a week before")
	case r.Compare == ComparePreviousPeriod:
		b.WriteString("% of the window before")
	}
	if r.For != 0 {
		fmt.Fprintf(&b, " for %v", r.For.D())
	}
	return b.String()
}
