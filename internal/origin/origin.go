// Package origin matches a browser's Origin header against allowed
// patterns, the way the WebSocket library does: a pattern with a scheme
// ("https://shop.example") against "scheme://host", any other
// ("*.shop.example", "localhost:*") against the host, case-insensitively
// with path.Match.
package origin

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Allowed reports whether origin matches one of patterns.
func Allowed(origin string, patterns []string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, err := path.Match(strings.ToLower(p), strings.ToLower(target)); err == nil && ok {
			return true
		}
	}
	return false
}

// hostPattern is a host name or address with an optional port, where *
// may stand for a label or the port.
var hostPattern = regexp.MustCompile(`^(\[[0-9a-f:.]+\]|[a-z0-9*]([a-z0-9*.-]*[a-z0-9*])?)(:([0-9]{1,5}|\*))?$`)

// Normalize checks a pattern a user gave and returns it in the form
// Allowed compares: lower case, an origin without path, query or
// trailing slash ("https://shop.example"), or a host pattern
// ("*.shop.example", "shop.example:8080").
func Normalize(p string) (string, error) {
	p = strings.ToLower(strings.TrimSpace(p))
	if p == "" {
		return "", fmt.Errorf("origin is empty")
	}
	if strings.ContainsAny(p, " \t\r\n\\") {
		return "", fmt.Errorf("origin %q holds spaces or backslashes", p)
	}
	if scheme, rest, ok := strings.Cut(p, "://"); ok {
		if scheme != "http" && scheme != "https" {
			return "", fmt.Errorf("origin %q: the scheme must be http or https", p)
		}
		rest = strings.TrimSuffix(rest, "/")
		if rest == "" || strings.ContainsAny(rest, "/?#@") {
			return "", fmt.Errorf("origin %q: give scheme://host[:port] only, without a path, query or user", p)
		}
		if !hostPattern.MatchString(rest) {
			return "", fmt.Errorf("origin %q: the host must be a name or an address, with an optional port", p)
		}
		p = scheme + "://" + rest
	} else if !hostPattern.MatchString(p) {
		return "", fmt.Errorf("origin %q: give scheme://host[:port] or a host pattern such as *.example.com", p)
	}
	// An IPv6 address's brackets are literal, not a path.Match class.
	p = strings.NewReplacer("[", `\[`, "]", `\]`).Replace(p)
	if _, err := path.Match(p, ""); err != nil {
		return "", fmt.Errorf("origin %q is not a valid pattern: %v", p, err)
	}
	return p, nil
}
