// Package plan is the tracking plan (docs/tracker.md): a JSON Schema per
// event type that a source's events' properties are held to, checked by
// a well-kept JSON Schema library (santhosh-tekuri/jsonschema, draft
// 2020-12 unless a schema says otherwise). It compiles the plan once per
// change, so a check costs the schema's work and nothing more.
package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// The plan modes of a source (store.SourceSettings.Plan).
const (
	ModeOff    = "off"
	ModeWarn   = "warn"
	ModeStrict = "strict"
)

// Bounds of a plan.
const (
	MaxSchemaBytes      = 64 << 10
	MaxDescriptionBytes = 1 << 10
	MaxEntries          = 500
)

// CheckMode returns the mode a source's settings name, refusing others.
func CheckMode(m string) (string, error) {
	switch m {
	case "", ModeOff:
		return ModeOff, nil
	case ModeWarn, ModeStrict:
		return m, nil
	}
	return "", fmt.Errorf("must be %q, %q or %q, not %q", ModeOff, ModeWarn, ModeStrict, m)
}

// Invalid is a refused entry of a plan; its text names the event type
// and what is wrong.
type Invalid struct {
	EventType string
	Field     string
	Reason    string
}

func (e *Invalid) Error() string {
	if e.EventType == "" {
		return e.Field + ": " + e.Reason
	}
	return fmt.Sprintf("%s: %s: %s", e.EventType, e.Field, e.Reason)
}

// Plan is a compiled tracking plan. The zero value and nil are empty.
type Plan struct {
	schemas map[string]*jsonschema.Schema
}

// Problem is how an event broke the plan.
type Problem struct {
	// Key is store.ProblemUnknownType, or the schema keyword that failed
	// ("/properties/plan/enum"): bounded by the plan, whatever the events.
	Key string
	// Field names the event's field the way the collector's errors do
	// ("event_type", "properties", "properties.plan").
	Field  string
	Reason string
}

// Compile checks and compiles entries; an error is an *Invalid.
func Compile(entries []store.PlanEntry) (*Plan, error) {
	if len(entries) > MaxEntries {
		return nil, &Invalid{Field: "event_types", Reason: fmt.Sprintf("%d event types, over the limit of %d", len(entries), MaxEntries)}
	}
	p := &Plan{schemas: make(map[string]*jsonschema.Schema, len(entries))}
	for _, e := range entries {
		if _, dup := p.schemas[e.EventType]; dup {
			return nil, &Invalid{EventType: e.EventType, Field: "event_type", Reason: "is in the plan twice"}
		}
		s, err := compileEntry(e)
		if err != nil {
			return nil, err
		}
		p.schemas[e.EventType] = s
	}
	return p, nil
}

// CheckEntry checks one entry as Compile would.
func CheckEntry(e store.PlanEntry) error {
	_, err := compileEntry(e)
	return err
}

func compileEntry(e store.PlanEntry) (*jsonschema.Schema, error) {
	switch {
	case !event.TypePattern.MatchString(e.EventType):
		return nil, &Invalid{EventType: e.EventType, Field: "event_type", Reason: fmt.Sprintf("must match %s, as event types do", event.TypePattern)}
	case len(e.Description) > MaxDescriptionBytes:
		return nil, &Invalid{EventType: e.EventType, Field: "description", Reason: fmt.Sprintf("is %d bytes, over the limit of %d", len(e.Description), MaxDescriptionBytes)}
	case len(e.Schema) == 0:
		return nil, &Invalid{EventType: e.EventType, Field: "schema", Reason: "is required (true accepts any properties)"}
	case len(e.Schema) > MaxSchemaBytes:
		return nil, &Invalid{EventType: e.EventType, Field: "schema", Reason: fmt.Sprintf("is %d bytes, over the limit of %d", len(e.Schema), MaxSchemaBytes)}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.Schema))
	if err != nil {
		return nil, &Invalid{EventType: e.EventType, Field: "schema", Reason: "is not JSON: " + err.Error()}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// A plan says what it means: "format": "email" is checked.
	c.AssertFormat()
	c.UseLoader(noLoads{})
	url := "plan:///" + e.EventType + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, &Invalid{EventType: e.EventType, Field: "schema", Reason: err.Error()}
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, &Invalid{EventType: e.EventType, Field: "schema", Reason: compileReason(err, url)}
	}
	return s, nil
}

// noLoads refuses every reference outside the schema itself: a plan that
// fetched URLs or read files would let its author reach the network and
// the disk of the server.
type noLoads struct{}

func (noLoads) Load(url string) (any, error) {
	return nil, errors.New("references to other documents are not allowed in a tracking plan; use $defs")
}

// compileReason is the library's error with the schema's made-up URL
// taken out.
func compileReason(err error, url string) string {
	var sve *jsonschema.SchemaValidationError
	if errors.As(err, &sve) {
		// Not a schema: the metaschema's first complaint, where it is.
		var ve *jsonschema.ValidationError
		if errors.As(sve.Err, &ve) {
			leaf := firstLeaf(ve)
			at := "/" + strings.Join(leaf.InstanceLocation, "/")
			return fmt.Sprintf("is not a valid JSON Schema: at %s: %s", at, leaf.ErrorKind.LocalizedString(printer))
		}
		err = sve.Err
	}
	r := strings.ReplaceAll(err.Error(), url, "")
	return strings.ReplaceAll(r, `"#`, `"`)
}

// Types returns the plan's event types, sorted.
func (p *Plan) Types() []string {
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(p.schemas))
	for t := range p.schemas {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Check holds an event's properties to the plan; nil when they keep it.
// props is the event's properties object as sent (nil: none).
func (p *Plan) Check(eventType string, props json.RawMessage) *Problem {
	var s *jsonschema.Schema
	if p != nil {
		s = p.schemas[eventType]
	}
	if s == nil {
		return &Problem{Key: store.ProblemUnknownType, Field: "event_type", Reason: fmt.Sprintf("%q is not in the tracking plan", eventType)}
	}
	var inst any = map[string]any{}
	if len(props) > 0 {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(props))
		if err != nil {
			// Decode checked them; this is not reached.
			return &Problem{Key: "/", Field: "properties", Reason: "are not JSON"}
		}
		inst = v
	}
	err := s.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &Problem{Key: "/", Field: "properties", Reason: err.Error()}
	}
	leaf := firstLeaf(ve)
	return &Problem{Key: keywordLocation(leaf), Field: field(leaf.InstanceLocation), Reason: leaf.ErrorKind.LocalizedString(printer)}
}

// firstLeaf is the first error without causes: the one a person fixes
// (an anyOf's causes are its branches; the first stands for them).
func firstLeaf(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	for len(e.Causes) > 0 {
		e = e.Causes[0]
	}
	return e
}

// keywordLocation is where in the plan's schema the failed keyword sits.
func keywordLocation(e *jsonschema.ValidationError) string {
	loc := e.SchemaURL
	if i := strings.IndexByte(loc, '#'); i >= 0 {
		loc = loc[i+1:]
	} else {
		loc = ""
	}
	for _, tok := range e.ErrorKind.KeywordPath() {
		loc += "/" + strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
	}
	if loc == "" {
		return "/"
	}
	return loc
}

// field names a place in the properties as the collector's errors do.
func field(instance []string) string {
	var b strings.Builder
	b.WriteString("properties")
	for _, tok := range instance {
		b.WriteByte('.')
		b.WriteString(tok)
	}
	return b.String()
}
