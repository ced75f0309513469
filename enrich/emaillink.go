package enrich

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"github.com/dchest/siphash"
)

// MaxTokenLen is the longest recipient token accepted. ESP merge tags
// (subscriber ids, UUIDs, hashes) fit easily; a longer value is more
// likely an e-mail address or garbage than an id.
const MaxTokenLen = 128

// RecipientKeyLen and LinkKeyLen are the sizes of a campaign's two keys:
// SipHash-2-4 takes a 128-bit key; HMAC-SHA256 gets a full block's worth
// of entropy from 32 bytes.
const (
	RecipientKeyLen = 16
	LinkKeyLen      = 32
)

// LinkSigLen is the length of a link signature: 16 bytes of HMAC-SHA256
// (128 bits, far beyond what an online forger can try), base64url without
// padding.
const LinkSigLen = 22

// ValidToken reports whether tok is an acceptable recipient token: 1 to
// MaxTokenLen bytes of [A-Za-z0-9._~-], the URL-unreserved characters, so
// that a token survives any ESP's merge and any URL encoding unchanged and
// can never smuggle a path separator, a query or an '@' (an e-mail address
// used as a token would be a person's address in a URL). Anything else is
// refused: an open with such a token counts as anonymous, a click is 400.
func ValidToken(tok []byte) bool {
	if len(tok) == 0 || len(tok) > MaxTokenLen {
		return false
	}
	for _, c := range tok {
		if !tokenChar(c) {
			return false
		}
	}
	return true
}

func tokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '~' || c == '-'
}

// RecipientID is the stored form of a recipient token: 64 bits of
// SipHash-2-4 keyed with the campaign's recipient key. Without the key the
// ID cannot be recomputed from a guessed token; once the key is wiped at
// the end of the campaign's window, no stored ID can be linked to a token
// again (privacy invariant 11). 0 means anonymous, so a hash of 0 becomes
// 1. It does not allocate.
func RecipientID(key *[RecipientKeyLen]byte, token []byte) uint64 {
	k0 := binary.LittleEndian.Uint64(key[0:8])
	k1 := binary.LittleEndian.Uint64(key[8:16])
	if id := siphash.Hash(k0, k1, token); id != 0 {
		return id
	}
	return 1
}

// SignLink returns the signature of a click target under a campaign's link
// key: the first 16 bytes of HMAC-SHA256(key, url), base64url. Only the URL
// is signed: the recipient token is filled in per recipient by the ESP,
// which cannot compute a signature per recipient, and it cannot redirect
// anywhere.
func SignLink(key *[LinkKeyLen]byte, url string) string {
	mac := linkMAC(key, url)
	return base64.RawURLEncoding.EncodeToString(mac[:16])
}

// VerifyLink reports whether sig is url's signature under key, comparing in
// constant time. A signature of another length or alphabet (a truncated or
// padded one) is refused before any comparison.
func VerifyLink(key *[LinkKeyLen]byte, url, sig string) bool {
	if len(sig) != LinkSigLen {
		return false
	}
	var got [16]byte
	n, err := base64.RawURLEncoding.Strict().Decode(got[:], []byte(sig))
	if err != nil || n != len(got) {
		return false
	}
	mac := linkMAC(key, url)
	return hmac.Equal(mac[:16], got[:])
}

func linkMAC(key *[LinkKeyLen]byte, url string) [sha256.Size]byte {
	h := hmac.New(sha256.New, key[:])
	h.Write([]byte(url))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
