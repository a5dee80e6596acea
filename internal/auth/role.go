// Package auth decides who is asking (docs/accounts.md): a signed-in
// account's session, an API token, or on an open server the machine's
// own user. It keeps the accounts' passwords as memory-hard hashes and
// the sessions' and tokens' secrets as SHA-256, never in the clear.
package auth

import (
	"fmt"
	"strings"
)

// Role is what a request may do. The roles are ordered: each may do what
// the ones below it may.
type Role int

// The roles. Public is what a route needs when anyone may call it (the
// health check, the tracker and its collector, signing in); no one is
// given it.
const (
	Public Role = iota
	Viewer
	Operator
	Admin
)

var roleNames = [...]string{Public: "public", Viewer: "viewer", Operator: "operator", Admin: "admin"}

func (r Role) String() string {
	if r < Public || r > Admin {
		return fmt.Sprintf("Role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole reads an account's or a token's role: viewer, operator or
// admin, in any case.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "viewer":
		return Viewer, nil
	case "operator":
		return Operator, nil
	case "admin":
		return Admin, nil
	}
	return 0, fmt.Errorf("role %q is not one of viewer, operator, admin", s)
}
