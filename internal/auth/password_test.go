package auth

import (
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

var cheap = HashParams{Memory: 64, Time: 1, Threads: 1}

func TestPasswordHashRoundTrip(t *testing.T) {
	for _, p := range []string{"correct horse", "ünïcødé pässwörd", strings.Repeat("x", MaxPasswordLen), "with\x00nul and spaces  "} {
		h, err := HashPassword(p, cheap)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(h, p) {
			t.Fatalf("hash %q", h)
		}
		if ok, err := VerifyPassword(p, h); !ok || err != nil {
			t.Fatalf("%q does not verify against its hash: %v %v", p, ok, err)
		}
		for _, wrong := range []string{p + "x", strings.ToUpper(p), p[:len(p)-1], ""} {
			if ok, err := VerifyPassword(wrong, h); ok || err != nil {
				t.Fatalf("%q verifies against the hash of %q: %v %v", wrong, p, ok, err)
			}
		}
		// Salted: the same password hashes differently each time.
		if h2, _ := HashPassword(p, cheap); h2 == h {
			t.Fatalf("two hashes of %q are equal", p)
		}
	}
	// A password past the limit never verifies, even against a hash of
	// its prefix.
	long := strings.Repeat("y", MaxPasswordLen+1)
	h, _ := HashPassword(long[:MaxPasswordLen], cheap)
	if ok, _ := VerifyPassword(long, h); ok {
		t.Fatal("a password over the limit verified")
	}
}

// TestHashCarriesItsParameters: a hash made with other costs (the
// defaults, an older setting) verifies with its own.
func TestHashCarriesItsParameters(t *testing.T) {
	h, err := HashPassword("correct horse", HashParams{Memory: 128, Time: 2, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := VerifyPassword("correct horse", h); !ok || err != nil {
		t.Fatalf("%v %v", ok, err)
	}
	if !strings.Contains(h, "$m=128,t=2,p=2$") {
		t.Fatalf("hash %q", h)
	}
}

// TestTamperedHashesAreRefused: a hash that is not argon2id, has another
// version, or asks for absurd costs is an error, not a slow verify.
func TestTamperedHashesAreRefused(t *testing.T) {
	good, _ := HashPassword("correct horse", cheap)
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$10$abcdefghijklmnopqrstuv",
		"argon2i":        strings.Replace(good, "argon2id", "argon2i", 1),
		"version":        strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":    strings.Replace(good, "m=64", "m=99999999", 1),
		"zero time":      strings.Replace(good, "t=1", "t=0", 1),
		"bad salt":       strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"),
		"short key":      strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"missing fields": "$argon2id$v=19$m=64,t=1,p=1$" + parts[4],
	} {
		if ok, err := VerifyPassword("correct horse", h); ok || err == nil {
			t.Errorf("%s: %q verified (%v) or passed (%v)", name, h, ok, err)
		}
	}
}

func TestDefaultHashParamsAreOWASPs(t *testing.T) {
	// argon2id, 19 MiB, 2 passes, 1 lane: OWASP's Password Storage Cheat
	// Sheet's first configuration.
	if DefaultHashParams != (HashParams{Memory: 19 * 1024, Time: 2, Threads: 1}) || argon2.Version != 0x13 {
		t.Fatalf("%+v", DefaultHashParams)
	}
}

func TestCheckPasswordAndEmail(t *testing.T) {
	for p, ok := range map[string]bool{"1234567": false, "12345678": true, "ñññññññ": false, "ññññññññ": true, strings.Repeat("a", MaxPasswordLen+1): false} {
		if err := CheckPassword(p); (err == nil) != ok {
			t.Errorf("CheckPassword(%.20q): %v", p, err)
		}
	}
	for e, ok := range map[string]bool{"ada@example.com": true, "ada": false, "Ada <ada@example.com>": false, "ada@example.com\n": false, "": false, strings.Repeat("a", 250) + "@x.io": false} {
		if err := CheckEmail(e); (err == nil) != ok {
			t.Errorf("CheckEmail(%.20q): %v", e, err)
		}
	}
}

func TestParseRole(t *testing.T) {
	for s, want := range map[string]Role{"viewer": Viewer, "Operator": Operator, " ADMIN ": Admin} {
		if r, err := ParseRole(s); r != want || err != nil {
			t.Errorf("ParseRole(%q) = %v, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "public", "root", "admins"} {
		if _, err := ParseRole(s); err == nil {
			t.Errorf("ParseRole(%q) passed", s)
		}
	}
	if !(Public < Viewer && Viewer < Operator && Operator < Admin) {
		t.Fatal("roles out of order")
	}
}

func TestCSRFTokenIsTheSessions(t *testing.T) {
	a, b := newSecret(sessionPrefix), newSecret(sessionPrefix)
	if CSRFToken(a) == CSRFToken(b) {
		t.Fatal("CSRF tokens are not per session")
	}
	if !CheckCSRF(a, CSRFToken(a)) || CheckCSRF(a, CSRFToken(b)) || CheckCSRF(a, "") || strings.Contains(CSRFToken(a), a) {
		t.Fatal("CheckCSRF")
	}
	if !LooksLikeToken(newSecret(tokenPrefix)) || LooksLikeToken(newSecret(sessionPrefix)) || LooksLikeToken("plt_short") {
		t.Fatal("LooksLikeToken")
	}
}
