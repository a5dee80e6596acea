package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEverySettingDocumented checks that every setting's flag and first
// environment variable appear in README.md's table and env.example, so a
// new setting cannot ship undocumented.
func TestEverySettingDocumented(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	envExample, readme := read("env.example"), read("README.md")
	for _, s := range table {
		if !strings.Contains(envExample, s.env[0]) {
			t.Errorf("setting --%s: %s is not in env.example", s.flag, s.env[0])
		}
		if !strings.Contains(readme, "`--"+s.flag+"`") || !strings.Contains(readme, "`"+s.env[0]+"`") {
			t.Errorf("setting --%s or %s is not in README.md", s.flag, s.env[0])
		}
	}
}
