// Package scaleout holds Pulse's multi-process tests: the pulse binary is
// built once and run as separate broker, consumer and server processes
// against this machine's PostgreSQL and Redis, the way a scaled-out
// deployment runs it. It also checks the container files under deploy/
// against what the binary accepts. The package has no non-test code.
package scaleout
