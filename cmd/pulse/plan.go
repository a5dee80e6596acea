package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/plan"
	"github.com/pulse-dev/pulse/internal/server"
	"github.com/pulse-dev/pulse/internal/store"
)

const planSummary = `Manage the tracking plan, a JSON Schema per event type that sources in
warn or strict mode hold their events' properties to (docs/tracker.md):
pulse plan export|apply [flags] [FILE]

  export   print the plan as a plan file
  apply    make FILE (or - for standard input) the whole plan: every entry
           is checked first, then all are stored or none; --dry-run only
           checks and says what would change

A plan file is {"event_types": [{"event_type": "signup", "description":
"...", "schema": {...}}, ...]}. The command opens the database itself; a
running server uses the new plan within 5 s.`

// planFile is the plan as a file holds it.
type planFile struct {
	EventTypes []planFileEntry `json:"event_types"`
}

type planFileEntry struct {
	EventType   string         `json:"event_type"`
	Description string         `json:"description,omitempty"`
	Schema      jsontext.Value `json:"schema"`
}

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var action string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	cfg := config.Default()
	fs := newFlags("plan", planSummary, &cfg, stderr)
	fs.Add(config.DataDir, config.DatabaseURL)
	fs.Add(config.LogKeys()...)
	dryRun := fs.Flags().Bool("dry-run", false, "apply: check the file and print what would change, change nothing")
	rest, err := fs.Parse(flagsFirst(fs.Flags(), args))
	if err != nil {
		return err
	}
	if action == "" && len(rest) > 0 {
		action, rest = rest[0], rest[1:]
	}
	switch {
	case action == "":
		return &exitError{2, errors.New("an action is required: export or apply")}
	case action == "export" && len(rest) > 0:
		return &exitError{2, fmt.Errorf("unexpected arguments %q", rest)}
	case action == "apply" && len(rest) != 1:
		return &exitError{2, errors.New("apply takes one plan file, or - for standard input")}
	case action != "export" && action != "apply":
		return &exitError{2, fmt.Errorf("unknown action %q: export or apply", action)}
	}
	var entries []store.PlanEntry
	if action == "apply" {
		// The file is checked before the database is opened: a typo
		// costs nothing.
		if entries, err = readPlanFile(rest[0]); err != nil {
			return &exitError{2, err}
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	db, err := server.OpenStore(ctx, &cfg, newLogger(&cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	if action == "export" {
		return exportPlan(ctx, db, stdout)
	}
	return applyPlan(ctx, db, entries, *dryRun, stdout)
}

func readPlanFile(path string) ([]store.PlanEntry, error) {
	var (
		raw []byte
		err error
	)
	if path == "-" {
		raw, err = io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	var f planFile
	if err := jsonv2.Unmarshal(raw, &f, jsonv2.RejectUnknownMembers(true)); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	entries := make([]store.PlanEntry, len(f.EventTypes))
	for i, e := range f.EventTypes {
		entries[i] = store.PlanEntry{EventType: e.EventType, Description: e.Description, Schema: json.RawMessage(e.Schema), UpdatedAt: now}
	}
	if _, err := plan.Compile(entries); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return entries, nil
}

func exportPlan(ctx context.Context, db store.Store, stdout io.Writer) error {
	entries, err := db.PlanEntries(ctx)
	if err != nil {
		return err
	}
	f := planFile{EventTypes: make([]planFileEntry, len(entries))}
	for i, e := range entries {
		f.EventTypes[i] = planFileEntry{EventType: e.EventType, Description: e.Description, Schema: jsontext.Value(e.Schema)}
	}
	out, err := jsonv2.Marshal(f, jsontext.Multiline(true), jsontext.WithIndent("  "))
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(out, '\n'))
	return err
}

func applyPlan(ctx context.Context, db store.Store, entries []store.PlanEntry, dryRun bool, stdout io.Writer) error {
	old, err := db.PlanEntries(ctx)
	if err != nil {
		return err
	}
	before := make(map[string]store.PlanEntry, len(old))
	for _, e := range old {
		before[e.EventType] = e
	}
	var added, changed, kept []string
	for _, e := range entries {
		o, ok := before[e.EventType]
		switch {
		case !ok:
			added = append(added, e.EventType)
		case o.Description != e.Description || !sameJSON(o.Schema, e.Schema):
			changed = append(changed, e.EventType)
		default:
			kept = append(kept, e.EventType)
		}
		delete(before, e.EventType)
	}
	removed := make([]string, 0, len(before))
	for t := range before {
		removed = append(removed, t)
	}
	slices.Sort(removed)
	verb := "applied"
	if dryRun {
		verb = "would apply"
	} else if err := db.ReplacePlan(ctx, entries); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s a plan of %d event types: added %s; changed %s; removed %s; unchanged %d\n",
		verb, len(entries), list(added), list(changed), list(removed), len(kept))
	return nil
}

// sameJSON compares two schemas as JSON, not as bytes: an exported plan
// applied again changes nothing.
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

func list(types []string) string {
	if len(types) == 0 {
		return "none"
	}
	return strings.Join(types, ", ")
}
