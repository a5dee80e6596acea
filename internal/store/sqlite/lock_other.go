//go:build !unix

package sqlite

import "context"

// lockFile is a no-op where flock is unavailable: there, open a new
// database from one process first.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
