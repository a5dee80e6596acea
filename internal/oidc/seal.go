package oidc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// sealer encrypts and authenticates the flow cookie (AES-256-GCM), so
// that the browser can neither read the PKCE verifier nor change the
// state, nonce or next page.
type sealer struct{ aead cipher.AEAD }

// newSealer derives the key from the client secret, so that every
// server of one client opens the cookies of the others (a sign-in may
// start on one and end on another); a public client has no secret, and
// each process draws its own key.
func newSealer(clientSecret, context string) (*sealer, error) {
	var key []byte
	if clientSecret != "" {
		k, err := hkdf.Key(sha256.New, []byte(clientSecret), []byte(context), "pulse oidc flow cookie", 32)
		if err != nil {
			return nil, fmt.Errorf("oidc: derive cookie key: %w", err)
		}
		key = k
	} else {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(flowCookie))), nil
}

func (s *sealer) open(value string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) < s.aead.NonceSize() {
		return errors.New("flow cookie is not sealed")
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], []byte(flowCookie))
	if err != nil {
		return errors.New("flow cookie does not open: changed, or sealed with another key")
	}
	return json.Unmarshal(plain, v)
}

// randomString is 32 random bytes in base64url: a state or a nonce.
func randomString() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
