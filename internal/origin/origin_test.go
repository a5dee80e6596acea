package origin

import "testing"

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		origin   string
		patterns []string
		want     bool
	}{
		{"https://shop.example", []string{"https://shop.example"}, true},
		{"https://SHOP.example", []string{"https://shop.example"}, true},
		{"http://shop.example", []string{"https://shop.example"}, false},
		{"https://shop.example.evil", []string{"https://shop.example"}, false},
		{"https://evil-shop.example", []string{"*.shop.example"}, false},
		{"https://a.shop.example", []string{"*.shop.example"}, true},
		{"http://localhost:5173", []string{"localhost:*"}, true},
		{"null", []string{"*"}, false},
		{"", []string{"*"}, false},
		{"http://[::1]:8080", []string{`http://\[::1\]:8080`}, true},
		{"http://:8080", []string{`http://\[::1\]:8080`}, false},
	} {
		if got := Allowed(tc.origin, tc.patterns); got != tc.want {
			t.Errorf("Allowed(%q, %q) = %v, want %v", tc.origin, tc.patterns, got, tc.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"https://Shop.Example/": "https://shop.example",
		" *.shop.example ":      "*.shop.example",
		"http://127.0.0.1:8080": "http://127.0.0.1:8080",
		"http://[::1]:8080":     `http://\[::1\]:8080`,
	} {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://shop.example", "https://shop.example/path", "https://user@shop.example", "shop.example/x", "https://", "[", "https://a b"} {
		if got, err := Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", bad, got)
		}
	}
}
