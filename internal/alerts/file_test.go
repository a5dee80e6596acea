package alerts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFile(t *testing.T) {
	good := `
rules:
  - id: lag
    name: Consumers behind
    signal: lag_seconds
    op: above
    threshold: 5
    for: 1m
    hysteresis: 1
    repeat: 30m
    webhook_url: https://hooks.example.com/pulse
    webhook_format: slack
  - id: signups
    name: Signups fell
    signal: event_count
    event_type: signup
    compare: previous_period
    window: 1h
    op: below
    threshold: 50
    enabled: false
`
	rules, err := ParseFile([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || !rules[0].Enabled || rules[0].For.D() != time.Minute || rules[0].WebhookFormat != FormatSlack ||
		rules[1].Enabled || rules[1].Window.D() != time.Hour || rules[1].WebhookFormat != FormatJSON {
		t.Fatalf("rules %+v", rules)
	}
	// JSON is read too.
	js := `{"rules":[{"id":"dlq","name":"DLQ","signal":"dlq_rate","window":"5m","op":"above","threshold":1}]}`
	if rules, err := ParseFile([]byte(js)); err != nil || len(rules) != 1 || rules[0].Window.D() != 5*time.Minute {
		t.Fatalf("json: %+v %v", rules, err)
	}

	for _, tc := range []struct{ name, file, want string }{
		{"empty", "", "no rules"},
		{"misspelt field", "rules:\n  - id: a\n    name: a\n    signal: consumers\n    op: below\n    treshold: 1\n", "field treshold not found"},
		{"bad signal", "rules:\n  - id: a\n    name: a\n    signal: cpu\n    op: below\n", `rule 1 ("a"): signal: must be one of`},
		{"bad op", "rules:\n  - id: a\n    name: a\n    signal: consumers\n    op: over\n", `op: must be above or below, not "over"`},
		{"bad id", "rules:\n  - id: A B\n    name: a\n    signal: consumers\n    op: below\n", "id: must match"},
		{"console id", "rules:\n  - id: alr_1\n    name: a\n    signal: consumers\n    op: below\n", "alr_ starts"},
		{"twice", "rules:\n  - {id: a, name: a, signal: consumers, op: below}\n  - {id: a, name: b, signal: consumers, op: below}\n", `id "a" is used twice`},
		{"bad duration", "rules:\n  - {id: a, name: a, signal: lag_seconds, op: above, threshold: 5, for: soon}\n", `"soon"`},
		{"window on lag", "rules:\n  - {id: a, name: a, signal: lag_seconds, op: above, threshold: 5, window: 5m}\n", "window: lag_seconds is read as it stands"},
		{"odd window", "rules:\n  - {id: a, name: a, signal: dlq_rate, op: above, threshold: 5, window: 90s}\n", "window: must be whole minutes"},
		{"short repeat", "rules:\n  - {id: a, name: a, signal: consumers, op: below, threshold: 1, repeat: 5s}\n", "repeat: must be 0"},
		{"hysteresis", "rules:\n  - {id: a, name: a, signal: lag_seconds, op: above, threshold: 5, hysteresis: 6}\n", "could never resolve"},
		{"url", "rules:\n  - {id: a, name: a, signal: consumers, op: below, threshold: 1, webhook_url: 'ftp://x'}\n", "webhook_url: must be an http or https URL"},
		{"credentials", "rules:\n  - {id: a, name: a, signal: consumers, op: below, threshold: 1, webhook_url: 'https://u:p@x'}\n", "no credentials"},
		{"type on lag", "rules:\n  - {id: a, name: a, signal: lag_seconds, op: above, threshold: 1, event_type: signup}\n", "event_type: only an event_count rule"},
		{"bad type", "rules:\n  - {id: a, name: a, signal: event_count, op: above, threshold: 1, event_type: Sign-Up}\n", "event_type: must match"},
		{"no name", "rules:\n  - {id: a, signal: consumers, op: below, threshold: 1}\n", "name: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile([]byte(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadFileNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.yaml")
	if err := os.WriteFile(path, []byte("rules:\n  - {id: a, name: a, signal: nope, op: below}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "signal") {
		t.Fatalf("error %v, want the path and the field", err)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "absent.yaml")); err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Fatalf("missing file: %v", err)
	}
	if rules, err := LoadFile(""); err != nil || rules != nil {
		t.Fatalf("no file: %v %v", rules, err)
	}
}
