package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

func testAuditLog(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := at(time.Now(), -time.Hour)
	if got, err := s.AuditLog(ctx, store.AuditFilter{}); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty log: %#v %v", got, err)
	}
	entries := []store.AuditEntry{
		{At: t0, Actor: "ada@example.com", AccountID: "acc_ada", ClientIP: "192.0.2.1", Action: "POST /api/auth/login/", Target: "ada@example.com", Outcome: store.AuditOK, Status: 200, RequestID: "r1"},
		{At: at(t0, time.Minute), Actor: "mallory@example.com", ClientIP: "203.0.113.9", Action: "POST /api/auth/login/", Target: "mallory@example.com", Outcome: store.AuditRefused, Status: 401, Detail: "wrong email or password"},
		{At: at(t0, 2*time.Minute), Actor: "ada@example.com", AccountID: "acc_ada", Action: "POST /api/dlq/replay/", Outcome: store.AuditOK, Status: 200, Detail: "100% of 3 replayed_ok"},
		{At: at(t0, 3*time.Minute), Actor: "cli", Action: "pulse users add", Target: "bob@example.com", Outcome: store.AuditOK},
		{At: at(t0, 4*time.Minute), Actor: "token tok_1", Action: "DELETE /api/load/", Outcome: store.AuditFailed, Status: 500, Detail: "internal error"},
	}
	for _, e := range entries {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.AuditLog(ctx, store.AuditFilter{})
	if err != nil || len(all) != 5 {
		t.Fatalf("all: %+v %v", all, err)
	}
	for i, e := range all {
		want := entries[len(entries)-1-i] // newest first
		want.ID = e.ID
		if e != want || (i > 0 && e.ID >= all[i-1].ID) {
			t.Errorf("entry %d: %+v, want %+v", i, e, want)
		}
	}
	ids := func(f store.AuditFilter) string {
		t.Helper()
		got, err := s.AuditLog(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, e := range got {
			out += fmt.Sprintf("%s|", e.Target+e.Detail)
		}
		return out
	}
	for name, tc := range map[string]struct {
		f    store.AuditFilter
		want string
	}{
		"actor":          {store.AuditFilter{Actor: "ada@example.com"}, "100% of 3 replayed_ok|ada@example.com|"},
		"action":         {store.AuditFilter{Action: "POST /api/auth/login/"}, "mallory@example.comwrong email or password|ada@example.com|"},
		"outcome":        {store.AuditFilter{Outcome: store.AuditRefused}, "mallory@example.comwrong email or password|"},
		"time":           {store.AuditFilter{From: at(t0, time.Minute), To: at(t0, 3*time.Minute)}, "100% of 3 replayed_ok|mallory@example.comwrong email or password|"},
		"text, any case": {store.AuditFilter{Q: "BOB@"}, "bob@example.com|"},
		"text in detail": {store.AuditFilter{Q: "Wrong Email"}, "mallory@example.comwrong email or password|"},
		"percent sign":   {store.AuditFilter{Q: "100%"}, "100% of 3 replayed_ok|"},
		"underscore":     {store.AuditFilter{Q: "d_o"}, "100% of 3 replayed_ok|"},
		"no match":       {store.AuditFilter{Q: "%%"}, ""},
		"client IP":      {store.AuditFilter{Q: "203.0.113"}, "mallory@example.comwrong email or password|"},
		"request id":     {store.AuditFilter{Q: "R1"}, "ada@example.com|"},
		"limit":          {store.AuditFilter{Limit: 2}, "internal error|bob@example.com|"},
		"page":           {store.AuditFilter{Before: all[1].ID, Limit: 2}, "100% of 3 replayed_ok|mallory@example.comwrong email or password|"},
		"combined":       {store.AuditFilter{Actor: "ada@example.com", Outcome: store.AuditOK, Q: "replay"}, "100% of 3 replayed_ok|"},
	} {
		if got := ids(tc.f); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
	n, err := s.RetainAudit(ctx, at(t0, 2*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("retain: %d %v", n, err)
	}
	if got := ids(store.AuditFilter{}); got != "internal error|bob@example.com|100% of 3 replayed_ok|" {
		t.Fatalf("after retention: %q", got)
	}
}
