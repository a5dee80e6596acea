package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Secrets are 32 random bytes in base64url behind a prefix that says
// what they are, so that a token pasted into a chat or a log is easy to
// spot and grep for.
const (
	sessionPrefix = "pls_"
	tokenPrefix   = "plt_"
)

func newSecret(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func newID(prefix string) string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// secretHash is what the store keeps of a secret: its SHA-256, in hex.
// The secrets are random, so a fast hash is enough (no dictionary to
// try).
func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CSRFToken is the token a signed-in browser sends in X-CSRF-Token with
// every unsafe request: an HMAC of the session's secret, which only the
// server and the page the server gave it to know (the cookie is
// HttpOnly). It needs no state and survives restarts.
func CSRFToken(sessionSecret string) string {
	m := hmac.New(sha256.New, []byte(sessionSecret))
	m.Write([]byte("pulse csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports whether token is the session's CSRF token, in
// constant time.
func CheckCSRF(sessionSecret, token string) bool {
	return token != "" && hmac.Equal([]byte(CSRFToken(sessionSecret)), []byte(token))
}

// LooksLikeToken reports whether s has an API token's shape; a
// credential that does not is refused before any lookup.
func LooksLikeToken(s string) bool {
	return strings.HasPrefix(s, tokenPrefix) && len(s) == len(tokenPrefix)+43
}
