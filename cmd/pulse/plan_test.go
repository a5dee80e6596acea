package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// TestSourcesCommand: the key alone on create's last line, flags after
// the source's name, settings changed in place, a bad mode refused, a
// revoked source listed as such.
func TestSourcesCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := pulse(t, "sources", "create", "--data-dir", dir, "--name", "shop", "--origin", "https://shop.example", "--plan", "warn")
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "pk_") || strings.Contains(key, " ") {
		t.Fatalf("last line %q is not the key alone:\n%s", key, out)
	}
	if code, _, errOut := pulse(t, "sources", "update", "shop", "--data-dir", dir, "--plan", "strict", "--respect-dnt", "--origin", "https://a.example,https://b.example"); code != 0 {
		t.Fatalf("update: exit %d: %s", code, errOut)
	}
	if code, _, errOut := pulse(t, "sources", "update", "shop", "--data-dir", dir, "--store-ip", "--retention", "30d"); code != 0 {
		t.Fatalf("update --store-ip --retention: exit %d: %s", code, errOut)
	}
	for _, bad := range [][]string{{"--plan", "STRICT"}, {"--origin", "ftp://x"}, {}, {"--retention", "10m"}, {"--retention", "month"}, {"--retention", "20y"}} {
		args := append([]string{"sources", "update", "shop", "--data-dir", dir}, bad...)
		if code, _, errOut := pulse(t, args...); code != 2 || errOut == "" {
			t.Errorf("update %q: exit %d %q, want 2 with the reason", bad, code, errOut)
		}
	}
	if code, _, errOut := pulse(t, "sources", "update", "nope", "--data-dir", dir, "--plan", "off"); code != 1 || !strings.Contains(errOut, `"nope"`) {
		t.Errorf("unknown source: exit %d %q", code, errOut)
	}
	_, out, _ = pulse(t, "sources", "list", "--data-dir", dir, "--json")
	var all []store.Source
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if len(all) != 1 || all[0].WriteKey != key || all[0].Settings.Plan != "strict" || !all[0].Settings.RespectDNT ||
		!all[0].Settings.StoreIP || all[0].Settings.Retention != store.Age(30*24*time.Hour) ||
		strings.Join(all[0].Origins, " ") != "https://a.example https://b.example" {
		t.Fatalf("listed %+v", all)
	}
	if code, _, errOut := pulse(t, "sources", "delete", "shop", "--data-dir", dir); code != 0 {
		t.Fatalf("delete: exit %d: %s", code, errOut)
	}
	if code, _, errOut := pulse(t, "sources", "update", "shop", "--data-dir", dir, "--plan", "off"); code != 1 || !strings.Contains(errOut, "revoked") {
		t.Errorf("updating a revoked source: exit %d %q", code, errOut)
	}
}

// TestPlanCommand: a plan file applied, exported and applied again
// changes nothing; a bad file is refused before anything is stored.
func TestPlanCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "plan.json")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"event_types": [
		{"event_type": "signup", "description": "An account made", "schema": {"type": "object", "required": ["plan"], "properties": {"plan": {"enum": ["free", "pro"]}}}},
		{"event_type": "page_view", "schema": true}]}`)
	code, out, errOut := pulse(t, "plan", "apply", file, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "added signup, page_view") {
		t.Fatalf("apply: exit %d %q %s", code, out, errOut)
	}
	code, exported, errOut := pulse(t, "plan", "export", "--data-dir", dir)
	if code != 0 || !strings.Contains(exported, `"event_type": "signup"`) {
		t.Fatalf("export: exit %d %s %s", code, exported, errOut)
	}
	write(exported)
	if code, out, _ := pulse(t, "plan", "apply", "--data-dir", dir, file); code != 0 || !strings.Contains(out, "added none; changed none; removed none; unchanged 2") {
		t.Fatalf("the export applied again: exit %d %q", code, out)
	}
	write(`{"event_types": [{"event_type": "signup", "schema": true}]}`)
	if code, out, _ := pulse(t, "plan", "apply", "--dry-run", "--data-dir", dir, file); code != 0 || !strings.Contains(out, "would apply") || !strings.Contains(out, "changed signup; removed page_view") {
		t.Fatalf("dry run: exit %d %q", code, out)
	}
	for _, bad := range []struct{ body, says string }{
		{`{"event_types": [{"event_type": "signup", "schema": {"type": "strnig"}}]}`, "signup: schema: is not a valid JSON Schema"},
		{`{"event_types": [{"event_type": "signup", "schema": true, "scheme": 1}]}`, "scheme"},
		{`{"event_types": [{"event_type": "a", "schema": true}, {"event_type": "a", "schema": true}]}`, "twice"},
		{`not json`, "plan.json"},
	} {
		write(bad.body)
		if code, _, errOut := pulse(t, "plan", "apply", "--data-dir", dir, file); code != 2 || !strings.Contains(errOut, bad.says) {
			t.Errorf("apply %s: exit %d %q, want 2 saying %q", bad.body, code, errOut, bad.says)
		}
	}
	_, now, _ := pulse(t, "plan", "export", "--data-dir", dir)
	if now != exported {
		t.Fatalf("a dry run or a refused file changed the plan:\n%s", now)
	}
}
