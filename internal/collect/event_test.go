package collect

import (
	"encoding/json"
	"testing"
)

// The client's address goes first in the properties, the rest verbatim;
// only a top-level member counts as the collector's.
func TestClientIPMember(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, `{"k":"1.2.3.4"}`},
		{`{}`, `{"k":"1.2.3.4"}`},
		{` { } `, `{"k":"1.2.3.4" }`},
		{`{"a":1}`, `{"k":"1.2.3.4","a":1}`},
		{`{ "a" : [1, 2] }`, `{"k":"1.2.3.4", "a" : [1, 2] }`},
	} {
		got := withMember([]byte(tc.in), "k", "1.2.3.4")
		if !json.Valid(got) {
			t.Errorf("withMember(%q) = %s, not JSON", tc.in, got)
		}
		if string(got) != tc.want {
			t.Errorf("withMember(%q) = %s, want %s", tc.in, got, tc.want)
		}
		if !hasMember(got, "k") {
			t.Errorf("hasMember(%s) = false", got)
		}
	}
	for props, want := range map[string]bool{
		``: false, `{}`: false, `{"k":1}`: true, `{"a":{"k":1}}`: false, `{"a":"k","b":["k"]}`: false,
		`{"a":1,"k":null}`: true, `{"K":1}`: false,
	} {
		if got := hasMember([]byte(props), "k"); got != want {
			t.Errorf("hasMember(%s) = %t, want %t", props, got, want)
		}
	}
}
