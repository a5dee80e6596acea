package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// HashParams are argon2id's costs. DefaultHashParams are OWASP's
// recommendation (19 MiB, 2 passes, 1 lane): about 30 ms a sign-in on
// this project's 2-core test machine, bounded in memory by the login
// limit. Tests use cheaper ones.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultHashParams are the costs new passwords are hashed with.
var DefaultHashParams = HashParams{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Passwords are at least MinPasswordLen characters (NIST SP 800-63B)
	// and at most MaxPasswordLen bytes, so that a huge one cannot make
	// hashing the cost of an attack.
	MinPasswordLen = 8
	MaxPasswordLen = 1024
)

// CheckPassword says what is wrong with a new password, or nil.
func CheckPassword(p string) error {
	switch {
	case len([]rune(p)) < MinPasswordLen:
		return fmt.Errorf("the password is shorter than %d characters", MinPasswordLen)
	case len(p) > MaxPasswordLen:
		return fmt.Errorf("the password is longer than %d bytes", MaxPasswordLen)
	}
	return nil
}

// HashPassword hashes p with argon2id and a random salt, in the PHC
// string format ($argon2id$v=19$m=...,t=...,p=...$salt$key), which
// carries its parameters: hashes made with other costs still verify.
func HashPassword(p string, hp HashParams) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(p), salt, hp.Time, hp.Memory, hp.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, hp.Memory, hp.Time, hp.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("not an argon2id hash")

// VerifyPassword reports whether p matches hash, in time that does not
// depend on where they differ.
func VerifyPassword(p, hash string) (bool, error) {
	hp, salt, key, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	if len(p) > MaxPasswordLen {
		// Hash anyway, so that the answer takes the usual time.
		p = p[:MaxPasswordLen]
		_ = argon2.IDKey([]byte(p), salt, hp.Time, hp.Memory, hp.Threads, uint32(len(key)))
		return false, nil
	}
	got := argon2.IDKey([]byte(p), salt, hp.Time, hp.Memory, hp.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func parseHash(hash string) (hp HashParams, salt, key []byte, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return hp, nil, nil, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return hp, nil, nil, fmt.Errorf("%w: version %q", errBadHash, parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &hp.Memory, &hp.Time, &hp.Threads); err != nil {
		return hp, nil, nil, fmt.Errorf("%w: parameters %q", errBadHash, parts[3])
	}
	// Bounds keep a tampered hash from asking for gigabytes.
	if hp.Memory < 8 || hp.Memory > 1<<20 || hp.Time < 1 || hp.Time > 16 || hp.Threads < 1 {
		return hp, nil, nil, fmt.Errorf("%w: parameters out of bounds", errBadHash)
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return hp, nil, nil, fmt.Errorf("%w: salt", errBadHash)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return hp, nil, nil, fmt.Errorf("%w: key", errBadHash)
	}
	return hp, salt, key, nil
}
