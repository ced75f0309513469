package enrich

import (
	"encoding/binary"
	"net/netip"

	"github.com/dchest/siphash"
)

// visitorInline is the largest site ‖ ip ‖ ua message hashed in one piece
// from a stack buffer. Real user agents are 100–300 bytes; longer inputs are
// folded (see VisitorID) so the hash never allocates.
const visitorInline = 640

// Message tags: one byte in front of every hashed message, so that the
// inline and the folded forms can never produce the same input bytes.
const (
	tagInline = 1
	tagFolded = 2
	tagPart   = 3
)

// VisitorID returns the 64-bit visitor ID of a hit: SipHash-2-4 keyed with
// the day's salt over site ‖ ip ‖ ua, each part length-prefixed so that
// ("ab", "c") and ("a", "bc") never collide.
//
// SipHash is a keyed PRF: without the salt the ID cannot be recomputed from
// a guessed IP and UA, and once the salt is wiped (see SaltKeeper) nobody
// can link an ID to a person or to the same person's ID of another day.
// SipHash takes a 128-bit key; the 32-byte salt is folded into it by XOR of
// its halves, so every salt bit counts.
//
// ip is hashed in its 16-byte form with IPv4-mapped addresses unmapped, so
// "1.2.3.4" and "::ffff:1.2.3.4" are the same visitor; a zone is ignored.
// An invalid ip hashes as 16 zero bytes. VisitorID does not allocate.
func VisitorID(salt *[32]byte, site string, ip netip.Addr, ua string) uint64 {
	k0, k1 := saltKey(salt)
	var buf [visitorInline]byte
	n := len(site) + len(ua) + 1 + 4 + 16 + 4
	if n > len(buf) {
		// Fold each long part into its own keyed hash first: still a keyed
		// function of the full input, still no allocation.
		b := buf[:0]
		b = append(b, tagFolded)
		b = binary.LittleEndian.AppendUint64(b, partHash(k0, k1, 's', site))
		b = appendIP(b, ip)
		b = binary.LittleEndian.AppendUint64(b, partHash(k0, k1, 'u', ua))
		return siphash.Hash(k0, k1, b)
	}
	b := buf[:0]
	b = append(b, tagInline)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(site)))
	b = append(b, site...)
	b = appendIP(b, ip)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ua)))
	b = append(b, ua...)
	return siphash.Hash(k0, k1, b)
}

// saltKey folds a 32-byte salt into SipHash's two 64-bit key words.
func saltKey(salt *[32]byte) (k0, k1 uint64) {
	le := binary.LittleEndian
	k0 = le.Uint64(salt[0:8]) ^ le.Uint64(salt[16:24])
	k1 = le.Uint64(salt[8:16]) ^ le.Uint64(salt[24:32])
	return k0, k1
}

// partHash hashes one long part of a visitor message in chunks that fit a
// stack buffer, chaining the chunk hashes; kind tells the parts apart.
func partHash(k0, k1 uint64, kind byte, s string) uint64 {
	var buf [visitorInline]byte
	const chunk = visitorInline - 16
	h := uint64(len(s))
	for {
		b := buf[:0]
		b = append(b, tagPart, kind)
		b = binary.LittleEndian.AppendUint64(b, h)
		m := min(len(s), chunk)
		b = append(b, s[:m]...)
		h = siphash.Hash(k0, k1, b)
		s = s[m:]
		if s == "" {
			return h
		}
	}
}

func appendIP(b []byte, ip netip.Addr) []byte {
	var a [16]byte
	if ip.IsValid() {
		a = ip.Unmap().As16()
	}
	return append(b, a[:]...)
}
