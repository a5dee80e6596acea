package api

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pulse-dev/pulse/internal/store"
)

// TestAuditLogRecordsWhoDidWhat: sign-ins, refused or not, and changes
// are recorded with who, from where, what and how it ended; refusals
// carry the reason the client was told; no entry holds a password or a
// token; the log reads back filtered, paged and exported.
func TestAuditLogRecordsWhoDidWhat(t *testing.T) {
	e := newSigninEnv(t, Config{Loopback: true}, 20)
	e.addAccount("ada@example.com", "admin")
	e.addAccount("vic@example.com", "viewer")
	forwarded := http.Header{}
	if r := e.do("POST", "/api/auth/login/", `{"email":"Mallory@Example.com","password":"guess one"}`, forwarded); r.status != http.StatusUnauthorized {
		t.Fatalf("bad login: %d", r.status)
	}
	adaCookie, adaCSRF := e.login("ada@example.com", "correct horse")
	admin := withSession(adaCookie, adaCSRF)
	if r := e.do("POST", "/api/accounts/", `{"email":"new@example.com","role":"operator","password":"secret password 1"}`, admin); r.status != http.StatusCreated {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	r := e.do("POST", "/api/tokens/", `{"name":"ci","role":"viewer"}`, admin)
	var made struct{ Secret string }
	_ = json.Unmarshal([]byte(r.body), &made)
	vicCookie, vicCSRF := e.login("vic@example.com", "correct horse")
	if r := e.do("POST", "/api/load/", `{"events_per_second":1,"duration_seconds":1}`, withSession(vicCookie, vicCSRF)); r.status != http.StatusForbidden {
		t.Fatalf("viewer starts a run: %d", r.status)
	}
	if r := e.do("DELETE", "/api/load/", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous stops a run: %d", r.status)
	}
	if r := e.do("GET", "/api/load/", "", withSession(vicCookie, "")); r.status != http.StatusOK {
		t.Fatalf("viewer reads: %d", r.status) // reads are not recorded
	}

	r = e.do("GET", "/api/audit/?limit=100", "", admin)
	var page struct {
		Entries    []store.AuditEntry
		NextBefore *int64 `json:"next_before"`
	}
	if err := json.Unmarshal([]byte(r.body), &page); r.status != http.StatusOK || err != nil {
		t.Fatalf("audit: %d %s", r.status, r.body)
	}
	got := map[string]store.AuditEntry{}
	for _, x := range page.Entries {
		got[x.Action+" "+x.Outcome+" "+x.Actor] = x
		for _, secret := range []string{"guess one", "correct horse", "secret password 1", made.Secret, adaCookie.Value, adaCSRF} {
			if secret != "" && strings.Contains(x.Actor+x.Target+x.Detail+x.Action, secret) {
				t.Errorf("entry %+v holds %q", x, secret)
			}
		}
	}
	for key, check := range map[string]func(store.AuditEntry) bool{
		"POST /api/auth/login/ refused mallory@example.com": func(x store.AuditEntry) bool {
			return x.Detail == "wrong email or password" && x.Status == 401 && x.ClientIP == "127.0.0.1" && x.AccountID == ""
		},
		"POST /api/auth/login/ ok ada@example.com": func(x store.AuditEntry) bool { return x.AccountID != "" && x.Status == 200 },
		"POST /api/accounts/ ok ada@example.com":   func(x store.AuditEntry) bool { return x.Target == "new@example.com" && x.Detail == "role operator" },
		"POST /api/tokens/ ok ada@example.com":     func(x store.AuditEntry) bool { return x.Target == "ci" && x.Detail == "role viewer" },
		"POST /api/load/ refused vic@example.com": func(x store.AuditEntry) bool {
			return x.Status == 403 && strings.Contains(x.Detail, "needs the operator role")
		},
		"DELETE /api/load/ refused anonymous": func(x store.AuditEntry) bool { return x.Status == 401 },
	} {
		x, ok := got[key]
		if !ok || !check(x) || x.RequestID == "" {
			t.Errorf("%s: %+v (recorded %v)", key, x, ok)
		}
	}
	if len(page.Entries) != 7 || page.NextBefore != nil { // 3 sign-ins, add, token, 2 refusals
		t.Errorf("%d entries, next %v: %+v", len(page.Entries), page.NextBefore, page.Entries)
	}

	// Filters and pages.
	for query, want := range map[string]int{
		"outcome=refused":                      3,
		"actor=ada%40example.com":              3,
		"action=POST+%2Fapi%2Fauth%2Flogin%2F": 3,
		"q=MALLORY":                            1,
		"limit=2":                              2,
	} {
		r := e.do("GET", "/api/audit/?"+query, "", admin)
		var p struct{ Entries []store.AuditEntry }
		if err := json.Unmarshal([]byte(r.body), &p); err != nil || len(p.Entries) != want {
			t.Errorf("%s: %d entries, want %d: %s", query, len(p.Entries), want, r.body)
		}
	}
	// Pages of 7 entries, then of 4 and 3: the last page leads to none.
	for _, size := range []int{7, 4} {
		var pages []int
		next := "0"
		for q := "limit=" + fmt.Sprint(size); next != ""; {
			r := e.do("GET", "/api/audit/?action=&"+q, "", admin)
			var p struct {
				Entries    []store.AuditEntry
				NextBefore *int64 `json:"next_before"`
			}
			if err := json.Unmarshal([]byte(r.body), &p); err != nil || len(pages) > 5 {
				t.Fatalf("pages of %d: %s", size, r.body)
			}
			pages = append(pages, len(p.Entries))
			next = ""
			if p.NextBefore != nil {
				next = fmt.Sprint(*p.NextBefore)
				q = fmt.Sprintf("limit=%d&before=%s", size, next)
			}
		}
		if len(pages) == 0 || pages[len(pages)-1] == 0 {
			t.Errorf("pages of %d: %v, the last one empty", size, pages)
		}
	}
	for _, bad := range []string{"outcome=maybe", "from=yesterday", "before=-1", "limit=0", "limit=1001"} {
		if r := e.do("GET", "/api/audit/?"+bad, "", admin); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, r.status, r.body)
		}
	}
	r = e.do("GET", "/api/audit/export/", "", admin)
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if r.status != http.StatusOK || err != nil || len(rows) < 8 || rows[0][2] != "actor" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV export: %d %v %q", r.status, err, r.body)
	}
	r = e.do("GET", "/api/audit/export/?format=ndjson&outcome=refused", "", admin)
	if lines := strings.Split(strings.TrimSpace(r.body), "\n"); r.status != http.StatusOK || len(lines) != 3 {
		t.Fatalf("NDJSON export: %d %q", r.status, r.body)
	}
	// The exports are recorded too.
	r = e.do("GET", "/api/audit/?action=GET+%2Fapi%2Faudit%2Fexport%2F", "", admin)
	if !strings.Contains(r.body, `"detail":"3 entries as ndjson"`) {
		t.Errorf("export not recorded: %s", r.body)
	}
	if r := e.do("GET", "/api/audit/", "", withSession(vicCookie, "")); r.status != http.StatusForbidden {
		t.Errorf("viewer reads the audit log: %d", r.status)
	}
}
