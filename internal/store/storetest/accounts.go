package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// at is a time both stores keep exactly: UTC, whole microseconds.
func at(t0 time.Time, d time.Duration) time.Time { return t0.Add(d).UTC().Truncate(time.Microsecond) }

func account(id, email, role string, created time.Time) store.Account {
	return store.Account{ID: id, Email: email, Role: role, PasswordHash: "$argon2id$" + id, CreatedAt: created, UpdatedAt: created}
}

func mustCreate(t *testing.T, s store.Store, a store.Account) {
	t.Helper()
	if err := s.CreateAccount(t.Context(), a); err != nil {
		t.Fatalf("create %s: %v", a.Email, err)
	}
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := at(time.Now(), 0)
	if n, err := s.AccountCount(ctx); n != 0 || err != nil {
		t.Fatalf("count on an empty store: %d %v", n, err)
	}
	if all, err := s.AccountList(ctx); len(all) != 0 || all == nil || err != nil {
		t.Fatalf("list on an empty store: %#v %v", all, err)
	}
	ada := account("acc_ada", "Ada@Example.com", "admin", t0)
	ada.OIDCSubject = "https://idp.example ada"
	mustCreate(t, s, ada)
	mustCreate(t, s, account("acc_bob", "bob@example.com", "viewer", at(t0, time.Second)))

	got, err := s.AccountByEmail(ctx, "ADA@example.COM")
	want := ada
	want.Email = "ada@example.com" // kept lowercased
	if err != nil || !sameAccount(got, want) {
		t.Fatalf("by email in another case: %+v %v, want %+v", got, err, want)
	}
	if got, err := s.AccountByOIDC(ctx, "https://idp.example ada"); err != nil || got.ID != "acc_ada" {
		t.Fatalf("by OIDC subject: %+v %v", got, err)
	}
	if got, err := s.AccountByID(ctx, "acc_bob"); err != nil || got.Email != "bob@example.com" || got.OIDCSubject != "" || got.LastSignInAt != nil {
		t.Fatalf("by id: %+v %v", got, err)
	}
	for name, err := range map[string]error{
		"unknown email":   second(s.AccountByEmail(ctx, "nobody@example.com")),
		"unknown id":      second(s.AccountByID(ctx, "acc_nope")),
		"unknown subject": second(s.AccountByOIDC(ctx, "https://idp.example nobody")),
		"empty subject":   second(s.AccountByOIDC(ctx, "")),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	for name, a := range map[string]store.Account{
		"same email in another case": account("acc_2", "BOB@example.com", "viewer", t0),
		"same id":                    account("acc_bob", "other@example.com", "viewer", t0),
		"same subject": func() store.Account {
			a := account("acc_3", "c@example.com", "viewer", t0)
			a.OIDCSubject = ada.OIDCSubject
			return a
		}(),
	} {
		if err := s.CreateAccount(ctx, a); !errors.Is(err, store.ErrAccountExists) {
			t.Errorf("%s: %v, want ErrAccountExists", name, err)
		}
	}
	// Two accounts without a subject do not clash.
	mustCreate(t, s, account("acc_cy", "cy@example.com", "operator", at(t0, 2*time.Second)))

	all, err := s.AccountList(ctx)
	if err != nil || len(all) != 3 || all[0].ID != "acc_ada" || all[1].ID != "acc_bob" || all[2].ID != "acc_cy" {
		t.Fatalf("list: %+v %v", all, err)
	}
	if n, err := s.AccountCount(ctx); n != 3 || err != nil {
		t.Fatalf("count: %d %v", n, err)
	}

	later := at(t0, time.Hour)
	bob, err := s.SetAccountRole(ctx, "acc_bob", "operator", later)
	if err != nil || bob.Role != "operator" || !bob.UpdatedAt.Equal(later) || !bob.CreatedAt.Equal(at(t0, time.Second)) {
		t.Fatalf("set role: %+v %v", bob, err)
	}
	if _, err := s.SetAccountRole(ctx, "acc_nope", "viewer", later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("set role of no one: %v", err)
	}
	if err := s.NoteSignIn(ctx, "acc_bob", later); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkAccountOIDC(ctx, "acc_bob", "https://idp.example bob", later); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkAccountOIDC(ctx, "acc_cy", "https://idp.example bob", later); !errors.Is(err, store.ErrAccountExists) {
		t.Fatalf("link a taken subject: %v", err)
	}
	if err := s.LinkAccountOIDC(ctx, "acc_nope", "https://idp.example x", later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("link no one: %v", err)
	}
	bob, err = s.AccountByID(ctx, "acc_bob")
	if err != nil || bob.LastSignInAt == nil || !bob.LastSignInAt.Equal(later) || bob.OIDCSubject != "https://idp.example bob" {
		t.Fatalf("after sign-in and link: %+v %v", bob, err)
	}
	if err := s.SetAccountPassword(ctx, "acc_nope", "$argon2id$x", later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("password of no one: %v", err)
	}
	if err := s.RemoveAccount(ctx, "acc_nope", later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("remove no one: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func sameAccount(a, b store.Account) bool {
	return a.ID == b.ID && a.Email == b.Email && a.Role == b.Role && a.PasswordHash == b.PasswordHash &&
		a.OIDCSubject == b.OIDCSubject && a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) &&
		(a.LastSignInAt == nil) == (b.LastSignInAt == nil) && a.CreatedAt.Location() == time.UTC
}

// testAccountsLastAdmin: the last admin can be neither demoted nor
// removed, even by two changes at once that each leave one admin on
// their own.
func testAccountsLastAdmin(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := at(time.Now(), 0)
	mustCreate(t, s, account("acc_ada", "ada@example.com", "admin", t0))
	if _, err := s.SetAccountRole(ctx, "acc_ada", "viewer", t0); !errors.Is(err, store.ErrLastAdmin) {
		t.Fatalf("demote the only admin: %v", err)
	}
	if err := s.RemoveAccount(ctx, "acc_ada", t0); !errors.Is(err, store.ErrLastAdmin) {
		t.Fatalf("remove the only admin: %v", err)
	}
	if _, err := s.SetAccountRole(ctx, "acc_ada", "admin", t0); err != nil {
		t.Fatalf("an admin stays admin: %v", err)
	}
	// Each round: one admin (last) is joined by two, last is demoted, and
	// the two are demoted (or removed) at once. Each change alone would
	// leave an admin; together they would leave none, so exactly one of
	// them must be refused.
	last := "acc_ada"
	for i := range 20 {
		a, b := fmt.Sprintf("acc_a%d", i), fmt.Sprintf("acc_b%d", i)
		mustCreate(t, s, account(a, a+"@example.com", "admin", t0))
		mustCreate(t, s, account(b, b+"@example.com", "admin", t0))
		if _, err := s.SetAccountRole(ctx, last, "viewer", t0); err != nil {
			t.Fatalf("round %d: demote one of three admins: %v", i, err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, id := range []string{a, b} {
			wg.Go(func() {
				if i%2 == 0 {
					_, errs[j] = s.SetAccountRole(ctx, id, "operator", t0)
				} else {
					errs[j] = s.RemoveAccount(ctx, id, t0)
				}
			})
		}
		wg.Wait()
		refused := 0
		for _, err := range errs {
			switch {
			case errors.Is(err, store.ErrLastAdmin):
				refused++
			case err != nil:
				t.Fatalf("round %d: %v", i, err)
			}
		}
		all, err := s.AccountList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		admins := 0
		for _, acc := range all {
			if acc.Role == store.RoleAdmin {
				admins++
				last = acc.ID
			}
		}
		if refused != 1 || admins != 1 {
			t.Fatalf("round %d: %d of the two changes refused, %d admins left; want 1 and 1", i, refused, admins)
		}
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := at(time.Now(), 0)
	mustCreate(t, s, account("acc_ada", "ada@example.com", "admin", t0))
	mustCreate(t, s, account("acc_bob", "bob@example.com", "viewer", t0))
	sess := func(id, acc string, expires time.Duration) store.Session {
		return store.Session{ID: id, AccountID: acc, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: at(t0, expires), ClientIP: "192.0.2.1", UserAgent: "Mozilla/5.0 ünï"}
	}
	for _, x := range []store.Session{sess("s1", "acc_ada", time.Hour), sess("s2", "acc_ada", 2*time.Hour), sess("s3", "acc_bob", time.Hour), sess("s4", "acc_bob", time.Minute)} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, acc, err := s.SessionByID(ctx, "s1", t0)
	if err != nil || !sameSession(got, sess("s1", "acc_ada", time.Hour)) || acc.ID != "acc_ada" || acc.Email != "ada@example.com" {
		t.Fatalf("session: %+v %+v %v", got, acc, err)
	}
	// Live until its expiry, not at it.
	if _, _, err := s.SessionByID(ctx, "s1", at(t0, time.Hour-time.Microsecond)); err != nil {
		t.Fatalf("a microsecond before expiry: %v", err)
	}
	for name, now := range map[string]time.Time{"at expiry": at(t0, time.Hour), "after": at(t0, 2*time.Hour)} {
		if _, _, err := s.SessionByID(ctx, "s1", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	if _, _, err := s.SessionByID(ctx, "nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
	// Touched, it lives on.
	if err := s.TouchSession(ctx, "s1", at(t0, 30*time.Minute), at(t0, 3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _, err = s.SessionByID(ctx, "s1", at(t0, 2*time.Hour))
	if err != nil || !got.LastSeenAt.Equal(at(t0, 30*time.Minute)) || !got.ExpiresAt.Equal(at(t0, 3*time.Hour)) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("touched: %+v %v", got, err)
	}
	if err := s.TouchSession(ctx, "gone", t0, t0); err != nil {
		t.Fatalf("touch a session that is gone: %v", err)
	}
	// Expired ones go; live ones stay.
	if n, err := s.DeleteExpiredSessions(ctx, at(t0, 90*time.Minute)); n != 2 || err != nil { // s3, s4
		t.Fatalf("delete expired: %d %v", n, err)
	}
	if n, err := s.DeleteAccountSessions(ctx, "acc_ada"); n != 2 || err != nil {
		t.Fatalf("delete ada's sessions: %d %v", n, err)
	}
	if _, _, err := s.SessionByID(ctx, "s2", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("s2 after ada's sessions ended: %v", err)
	}
	// A new password and a removal end the account's sessions.
	for _, x := range []store.Session{sess("s5", "acc_ada", time.Hour), sess("s6", "acc_bob", time.Hour), sess("s7", "acc_bob", time.Hour)} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetAccountPassword(ctx, "acc_ada", "$argon2id$new", at(t0, time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionByID(ctx, "s5", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session after a new password: %v", err)
	}
	if a, err := s.AccountByID(ctx, "acc_ada"); err != nil || a.PasswordHash != "$argon2id$new" || !a.UpdatedAt.Equal(at(t0, time.Minute)) {
		t.Fatalf("after a new password: %+v %v", a, err)
	}
	if err := s.DeleteSession(ctx, "s6"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, "s6"); err != nil {
		t.Fatalf("delete a session twice: %v", err)
	}
	if err := s.RemoveAccount(ctx, "acc_bob", t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionByID(ctx, "s7", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session of a removed account: %v", err)
	}
	if n, err := s.DeleteAccountSessions(ctx, "acc_bob"); n != 0 || err != nil {
		t.Fatalf("sessions left of a removed account: %d %v", n, err)
	}
}

func sameSession(a, b store.Session) bool {
	return a.ID == b.ID && a.AccountID == b.AccountID && a.CreatedAt.Equal(b.CreatedAt) && a.LastSeenAt.Equal(b.LastSeenAt) &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.ClientIP == b.ClientIP && a.UserAgent == b.UserAgent
}

func testAPITokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := at(time.Now(), 0)
	mustCreate(t, s, account("acc_ada", "ada@example.com", "admin", t0))
	mustCreate(t, s, account("acc_bob", "bob@example.com", "operator", t0))
	exp := at(t0, 24*time.Hour)
	tokens := []store.APIToken{
		{ID: "tok_1", Name: "ci", Hash: "h1", Role: "operator", CreatedAt: t0, ExpiresAt: &exp},
		{ID: "tok_2", Name: "bob's", Hash: "h2", Role: "viewer", AccountID: "acc_bob", CreatedAt: at(t0, time.Second)},
		{ID: "tok_3", Name: "ada's", Hash: "h3", Role: "admin", AccountID: "acc_ada", CreatedAt: at(t0, 2*time.Second)},
	}
	for _, tok := range tokens {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	for name, tok := range map[string]store.APIToken{
		"same live name": {ID: "tok_4", Name: "ci", Hash: "h4", Role: "viewer", CreatedAt: t0},
		"same hash":      {ID: "tok_5", Name: "other", Hash: "h1", Role: "viewer", CreatedAt: t0},
	} {
		if err := s.CreateToken(ctx, tok); !errors.Is(err, store.ErrTokenExists) {
			t.Errorf("%s: %v, want ErrTokenExists", name, err)
		}
	}
	got, err := s.TokenByHash(ctx, "h1")
	if err != nil || got.ID != "tok_1" || got.Name != "ci" || got.Role != "operator" || got.AccountID != "" || got.ExpiresAt == nil ||
		!got.ExpiresAt.Equal(exp) || got.LastUsedAt != nil || got.RevokedAt != nil || !got.CreatedAt.Equal(t0) {
		t.Fatalf("by hash: %+v %v", got, err)
	}
	if _, err := s.TokenByHash(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	if err := s.NoteTokenUse(ctx, "tok_2", at(t0, time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TokenByHash(ctx, "h2"); got.LastUsedAt == nil || !got.LastUsedAt.Equal(at(t0, time.Minute)) || got.AccountID != "acc_bob" {
		t.Fatalf("after use: %+v", got)
	}
	// Revoked: kept, listed, found by hash (the caller refuses it), and
	// its name free again; a second revocation keeps the first time.
	r, err := s.RevokeToken(ctx, "tok_1", at(t0, time.Hour))
	if err != nil || r.RevokedAt == nil || !r.RevokedAt.Equal(at(t0, time.Hour)) {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	if r, err := s.RevokeToken(ctx, "tok_1", at(t0, 2*time.Hour)); err != nil || !r.RevokedAt.Equal(at(t0, time.Hour)) {
		t.Fatalf("revoke again: %+v %v", r, err)
	}
	if _, err := s.RevokeToken(ctx, "tok_nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke no token: %v", err)
	}
	if got, err := s.TokenByHash(ctx, "h1"); err != nil || got.RevokedAt == nil {
		t.Fatalf("revoked by hash: %+v %v", got, err)
	}
	if err := s.CreateToken(ctx, store.APIToken{ID: "tok_6", Name: "ci", Hash: "h6", Role: "viewer", CreatedAt: at(t0, 3*time.Second)}); err != nil {
		t.Fatalf("a revoked token's name again: %v", err)
	}
	// Removing an account revokes its tokens, and only its.
	if err := s.RemoveAccount(ctx, "acc_bob", at(t0, 5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	all, err := s.TokenList(ctx)
	if err != nil || len(all) != 4 {
		t.Fatalf("list: %+v %v", all, err)
	}
	byID := map[string]store.APIToken{}
	for i, tok := range all {
		byID[tok.ID] = tok
		if i > 0 && all[i-1].CreatedAt.After(tok.CreatedAt) {
			t.Errorf("list not oldest first: %+v", all)
		}
	}
	if r := byID["tok_2"].RevokedAt; r == nil || !r.Equal(at(t0, 5*time.Hour)) {
		t.Errorf("bob's token after bob's removal: %+v", byID["tok_2"])
	}
	if byID["tok_3"].RevokedAt != nil || byID["tok_6"].RevokedAt != nil {
		t.Errorf("other tokens revoked with bob: %+v", all)
	}
}
