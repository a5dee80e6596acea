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
	for k, s := range settings() {
		if !strings.Contains(envExample, s.env[0]) {
			t.Errorf("setting %d (--%s): %s is not in env.example", k, s.flag, s.env[0])
		}
		if !strings.Contains(readme, "`--"+s.flag+"`") || !strings.Contains(readme, "`"+s.env[0]+"`") {
			t.Errorf("setting %d: --%s or %s is not in README.md", k, s.flag, s.env[0])
		}
	}
}
