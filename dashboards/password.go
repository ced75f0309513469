package dashboards

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Passwords are stored as "pbkdf2-sha256$ITERATIONS$SALT$HASH" (salt and
// hash in unpadded standard base64): PBKDF2 from the standard library
// needs no dependency, and the iteration count travels with the hash so
// that it can be raised later without breaking configured hashes.
const passwordScheme = "pbkdf2-sha256"

// DefaultPasswordIterations is OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
const DefaultPasswordIterations = 600_000

// minPasswordIterations refuses hashes too cheap to slow down a guesser
// who got hold of the configuration.
const minPasswordIterations = 1_000

// passwordHash is a parsed password hash.
type passwordHash struct {
	iterations int
	salt, hash []byte
}

var b64 = base64.RawStdEncoding

// HashPassword returns the configuration form of password's hash with a
// fresh random salt and iterations rounds (0 means the default).
func HashPassword(password string, iterations int) (string, error) {
	if password == "" {
		return "", errors.New("empty password")
	}
	if iterations == 0 {
		iterations = DefaultPasswordIterations
	}
	if iterations < minPasswordIterations {
		return "", fmt.Errorf("%d iterations, at least %d", iterations, minPasswordIterations)
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return fmt.Sprintf("%s$%d$%s$%s", passwordScheme, iterations, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ParsePasswordHash checks the form of a configured password hash; the
// error never repeats the hash.
func ParsePasswordHash(s string) error {
	_, err := parsePasswordHash(s)
	return err
}

func parsePasswordHash(s string) (passwordHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 4 || parts[0] != passwordScheme {
		return passwordHash{}, errors.New("want pbkdf2-sha256$ITERATIONS$SALT$HASH (mote admin hash-password prints one)")
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < minPasswordIterations || n > 100_000_000 {
		return passwordHash{}, fmt.Errorf("iterations: want a number from %d", minPasswordIterations)
	}
	salt, err1 := b64.DecodeString(parts[2])
	hash, err2 := b64.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(hash) != sha256.Size {
		return passwordHash{}, errors.New("salt or hash is not base64 of the right length")
	}
	return passwordHash{iterations: n, salt: salt, hash: hash}, nil
}

// check reports whether password matches, comparing in constant time.
func (h passwordHash) check(password string) bool {
	key, err := pbkdf2.Key(sha256.New, password, h.salt, h.iterations, sha256.Size)
	return err == nil && subtle.ConstantTimeCompare(key, h.hash) == 1
}

// API keys are random strings that mote admin new-api-key prints; the
// configuration holds only "sha256$HEX" of each. A key has 256 random
// bits, so one fast hash is enough (no guesser can enumerate them), and
// it keeps a Bearer check cheap on every API call.
const apiKeyScheme = "sha256"

// NewAPIKey returns a fresh API key and the hash to configure for it.
func NewAPIKey() (key, hash string) {
	key = "mote_" + randomToken()
	return key, HashAPIKey(key)
}

// HashAPIKey is the configuration form of key.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return apiKeyScheme + "$" + hex.EncodeToString(sum[:])
}

// ParseAPIKeyHash checks the form of a configured API key hash.
func ParseAPIKeyHash(s string) error {
	_, err := parseAPIKeyHash(s)
	return err
}

func parseAPIKeyHash(s string) ([]byte, error) {
	h, ok := strings.CutPrefix(s, apiKeyScheme+"$")
	sum, err := hex.DecodeString(h)
	if !ok || err != nil || len(sum) != sha256.Size {
		return nil, errors.New("want sha256$HEX (mote admin new-api-key prints one)")
	}
	return sum, nil
}

// randomToken is 32 random bytes in URL-safe base64: session ids, share
// keys and API keys.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}
