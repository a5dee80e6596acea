package contract

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// A shape is what the contract compares of a JSON document: for every path
// ("$", "$.events", "$.events[].user_id"...) the set of JSON kinds found
// there (object, array, string, number, boolean, null). Object members add
// their path; the elements of an array all share the path "<array>[]", so an
// array's shape is the union of its elements' shapes. Values themselves
// (ids, times, counts) are not compared.
type shape map[string]map[string]bool

// shapeOf returns the shape of the JSON text b.
func shapeOf(b []byte) (shape, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not JSON: more than one value")
	}
	s := shape{}
	s.add("$", v)
	return s, nil
}

func (s shape) add(path string, v any) {
	kind := kindOf(v)
	if s[path] == nil {
		s[path] = map[string]bool{}
	}
	s[path][kind] = true
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			s.add(path+"."+k, e)
		}
	case []any:
		for _, e := range v {
			s.add(path+"[]", e)
		}
	}
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// kinds names the kinds at a path, "absent" when there is none.
func (s shape) kinds(path string) string {
	k := s[path]
	if len(k) == 0 {
		return "absent"
	}
	return strings.Join(slices.Sorted(maps.Keys(k)), "|")
}

// diff lists the paths where got differs from want, each as
// "path: want X, got Y", sorted. Below an array that is empty on either
// side nothing is compared: an empty list says nothing about its elements
// (a history with no markers yet), and an empty golden list would otherwise
// fail every live answer that has one.
func diff(want, got shape) []string {
	var out []string
	paths := slices.Sorted(maps.Keys(mergeKeys(want, got)))
	for _, p := range paths {
		if underEmptyArray(p, want, got) {
			continue
		}
		if w, g := want.kinds(p), got.kinds(p); w != g {
			out = append(out, fmt.Sprintf("%s: want %s, got %s", p, w, g))
		}
	}
	return out
}

func mergeKeys(a, b shape) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

// underEmptyArray reports whether path lies below an array ("x[]...") that
// has no elements in want or in got.
func underEmptyArray(path string, want, got shape) bool {
	for i := strings.Index(path, "[]"); i >= 0; {
		elems := path[:i+2]
		if want[elems] == nil || got[elems] == nil {
			return true
		}
		j := strings.Index(path[i+2:], "[]")
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return false
}

func TestShapeDiff(t *testing.T) {
	base := `{"events":[{"id":1,"page":"/a"},{"id":2}],"next":null,"stats":{"n":1},"empty":[]}`
	cases := []struct {
		name, got string
		want      []string
	}{
		{"same shape, other values", `{"events":[{"id":7}, {"id":8,"page":"/b"}],"next":null,"stats":{"n":9},"empty":[]}`, nil},
		{"member gone", `{"events":[{"id":1}],"next":null,"stats":{"n":1},"empty":[]}`,
			[]string{"$.events[].page: want string, got absent"}},
		{"member added", `{"events":[{"id":1,"page":"/a"}],"next":null,"stats":{"n":1,"m":2},"empty":[]}`,
			[]string{"$.stats.m: want absent, got number"}},
		{"kind changed", `{"events":[{"id":"1","page":"/a"}],"next":"c","stats":{"n":1},"empty":[]}`,
			[]string{"$.events[].id: want number, got string", "$.next: want null, got string"}},
		{"list became null", `{"events":null,"next":null,"stats":{"n":1},"empty":[]}`,
			[]string{"$.events: want array, got null"}},
		{"empty list on one side", `{"events":[{"id":1,"page":"/a"}],"next":null,"stats":{"n":1},"empty":[{"x":1}]}`, nil},
	}
	want, err := shapeOf([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := shapeOf([]byte(c.got))
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(want, got); !slices.Equal(d, c.want) {
				t.Errorf("diff:\n got %q\nwant %q", d, c.want)
			}
		})
	}
	for _, bad := range []string{"", "{", `{} {}`} {
		if _, err := shapeOf([]byte(bad)); err == nil {
			t.Errorf("shapeOf(%q): no error", bad)
		}
	}
}
