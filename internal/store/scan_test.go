package store

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// PropertyText reads a JSON value as encoding/json would, whatever the
// string: plain, with escapes a client may or may not use, with quotes,
// controls, non-ASCII and invalid UTF-8.
func TestPropertyTextAgreesWithEncodingJSON(t *testing.T) {
	raws := []string{`"pro"`, `""`, `"\u0070ro"`, `"a\"b"`, `"a\\b"`, `"été"`, `"\u00e9t\u00e9"`, `"tab\there"`,
		`"\ud83d\ude00"`, `"\ud800"`, "\"\xff\xfe\"", `"/"`, `"\/"`, `null`, `1.50`, `true`, `{"a": [1, 2]}`, ``}
	rng := rand.New(rand.NewPCG(3, 9))
	alphabet := []rune{'a', 'Z', '"', '\\', '/', '\n', '\t', 0, 'é', '😀', '\u2028', ' '}
	for range 2000 {
		r := make([]rune, rng.IntN(8))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		b, _ := json.Marshal(string(r))
		raws = append(raws, string(b))
	}
	for _, raw := range raws {
		want := raw
		switch {
		case raw == "null":
			want = ""
		case len(raw) >= 2 && raw[0] == '"':
			var s string
			if err := json.Unmarshal([]byte(raw), &s); err != nil {
				t.Fatalf("%q: %v", raw, err)
			}
			want = s
		}
		if got := PropertyText([]byte(raw)); got != want {
			t.Errorf("PropertyText(%q) = %q; encoding/json reads %q", raw, got, want)
		}
	}
}
