package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3
// -X main.commit=abc123". Without it the module build info is used.
var (
	version = "dev"
	commit  = ""
)

// buildInfo returns the version, the commit (with "-dirty" when built
// from a modified tree) and the Go version.
func buildInfo() (ver, rev, goVersion string) {
	ver, rev = version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if ver == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			ver = bi.Main.Version
		}
		if rev == "" {
			var modified bool
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value == "true"
				}
			}
			if rev != "" && modified {
				rev += "-dirty"
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	return ver, rev, runtime.Version()
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(stdout, "Usage: pulse version\n\nPrint version, commit and Go version.")
		return nil
	}
	ver, rev, gov := buildInfo()
	_, err := fmt.Fprintf(stdout, "pulse %s\ncommit %s\n%s %s/%s\n", ver, rev, gov, runtime.GOOS, runtime.GOARCH)
	return err
}
