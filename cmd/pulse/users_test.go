package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// users runs pulse users with stdin and returns its error and output.
func users(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut pulsetest.Buffer
	err := usersCommand(t.Context(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), err
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}

// TestUsersCommand: accounts added from standard input, listed, changed
// and removed in the same database serve opens, with the mistakes of the
// command line (exit 2) apart from refusals of the state (exit 1), and
// never the password in the output.
func TestUsersCommand(t *testing.T) {
	dataDir := t.TempDir()
	dir := "--data-dir=" + dataDir
	if out, err := users(t, "correct horse\n", "add", dir, "--email", "Ada@Example.com", "--role", "admin", "--password-stdin"); err != nil || !strings.Contains(out, "added ada@example.com") {
		t.Fatalf("add: %v %s", err, out)
	}
	if out, err := users(t, "battery staple\r\n", "add", dir, "--email", "bob@example.com", "--role", "viewer", "--password-stdin"); err != nil || strings.Contains(out, "battery") {
		t.Fatalf("add bob: %v %s", err, out)
	}
	for _, tc := range []struct {
		name, stdin string
		args        []string
		code        int
		want        string
	}{
		{"no action", "", []string{dir}, 2, "an action is required"},
		{"unknown action", "", []string{"grant", dir}, 2, "unknown action"},
		{"password on the command line", "", []string{"add", dir, "--email", "c@example.com", "--role", "viewer"}, 2, "--password-stdin"},
		{"empty stdin", "", []string{"add", dir, "--email", "c@example.com", "--role", "viewer", "--password-stdin"}, 2, "no password"},
		{"short password", "short\n", []string{"add", dir, "--email", "c@example.com", "--role", "viewer", "--password-stdin"}, 2, "shorter than 8"},
		{"bad role", "correct horse\n", []string{"add", dir, "--email", "c@example.com", "--role", "root", "--password-stdin"}, 2, "not one of viewer, operator, admin"},
		{"bad email", "correct horse\n", []string{"add", dir, "--email", "c", "--role", "viewer", "--password-stdin"}, 2, "not an email address"},
		{"taken email", "correct horse\n", []string{"add", dir, "--email", "ADA@example.com", "--role", "viewer", "--password-stdin"}, 1, "exists"},
		{"demote the last admin", "", []string{"set-role", dir, "ada@example.com", "--role", "viewer"}, 1, "last admin"},
		{"remove the last admin", "", []string{"remove", dir, "ada@example.com"}, 1, "last admin"},
		{"unknown account", "", []string{"remove", dir, "nobody@example.com"}, 1, "no account"},
		{"no account named", "", []string{"remove", dir}, 2, "takes one account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := users(t, tc.stdin, tc.args...)
			if exitCode(err) != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v (exit %d), want exit %d naming %q", err, exitCode(err), tc.code, tc.want)
			}
		})
	}
	if out, err := users(t, "", "set-role", dir, "bob@example.com", "--role", "operator"); err != nil || !strings.Contains(out, "is now operator") {
		t.Fatalf("set-role: %v %s", err, out)
	}
	if out, err := users(t, "new password\n", "set-password", dir, "bob@example.com", "--password-stdin"); err != nil || !strings.Contains(out, "sessions have ended") {
		t.Fatalf("set-password: %v %s", err, out)
	}
	out, err := users(t, "", "list", dir, "--json")
	var list []store.Account
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[1].Role != "operator" || strings.Contains(out, "argon2") {
		t.Fatalf("list: %v %s", err, out)
	}
	if out, err := users(t, "", "remove", dir, list[1].ID); err != nil || !strings.Contains(out, "removed bob@example.com") {
		t.Fatalf("remove by id: %v %s", err, out)
	}
	if out, err := users(t, "", "list", dir); err != nil || !strings.Contains(out, "ada@example.com") || strings.Contains(out, "bob@") {
		t.Fatalf("table: %v %s", err, out)
	}

	// Each change is in the audit log, the refused ones with their reason.
	db, err := sqlite.Open(t.Context(), filepath.Join(dataDir, "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := db.AuditLog(t.Context(), store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range entries {
		count[e.Action+" "+e.Outcome]++
		if !strings.HasPrefix(e.Actor, "cli") || strings.Contains(e.Detail, "horse") {
			t.Errorf("entry %+v", e)
		}
	}
	if count["pulse users add ok"] != 2 || count["pulse users remove ok"] != 1 || count["pulse users set-role refused"] != 1 ||
		count["pulse users add refused"] != 4 || count["pulse users set-password ok"] != 1 {
		t.Errorf("audit entries by action: %v", count)
	}
}
