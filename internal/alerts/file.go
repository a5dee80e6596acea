package alerts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// ruleFile is the rules file: YAML, or JSON (which YAML reads too).
//
//	rules:
//	  - id: lag
//	    name: Consumers behind
//	    signal: lag_seconds
//	    op: above
//	    threshold: 5
//	    for: 1m
//	    webhook_url: https://hooks.example.com/pulse
type ruleFile struct {
	Rules []fileRule `yaml:"rules"`
}

// fileRule is a Rule whose enabled defaults to true: a rule written in a
// file is meant to run.
type fileRule struct {
	Rule    `yaml:",inline"`
	Enabled *bool `yaml:"enabled"`
}

// LoadFile reads and checks a rules file; the error names the file, the
// rule and the field of the first problem. An empty path is no rules.
func LoadFile(path string) ([]Rule, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("alerts file: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxRuleFile+1))
	if err != nil {
		return nil, fmt.Errorf("alerts file %s: %w", path, err)
	}
	if len(raw) > maxRuleFile {
		return nil, fmt.Errorf("alerts file %s: larger than %d bytes", path, maxRuleFile)
	}
	rules, err := ParseFile(raw)
	if err != nil {
		return nil, fmt.Errorf("alerts file %s: %w", filepath.Clean(path), err)
	}
	return rules, nil
}

// ParseFile reads and checks the rules of a rules file's content.
func ParseFile(raw []byte) ([]Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	// A misspelt field ("treshold") is an error, not a rule quietly
	// missing a setting.
	dec.KnownFields(true)
	var rf ruleFile
	if err := dec.Decode(&rf); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no rules: the file is empty")
		}
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(rf.Rules) > MaxRules {
		return nil, fmt.Errorf("%d rules: at most %d", len(rf.Rules), MaxRules)
	}
	out := make([]Rule, 0, len(rf.Rules))
	seen := map[string]bool{}
	for i, fr := range rf.Rules {
		r := fr.Rule
		r.Enabled = fr.Enabled == nil || *fr.Enabled
		r.Normalize()
		if err := r.Validate(true); err != nil {
			return nil, fmt.Errorf("rule %d (%q): %w", i+1, r.ID, err)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("rule %d: id %q is used twice", i+1, r.ID)
		}
		if strings.HasPrefix(r.ID, "alr_") {
			return nil, fmt.Errorf("rule %d (%q): id: alr_ starts the ids of the console's rules", i+1, r.ID)
		}
		seen[r.ID] = true
		out = append(out, r)
	}
	return out, nil
}
