package bench

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// isUUID reports whether s is a UUID in its 36-character text form with
// lower-case hex digits, as Synthea writes them.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// copyUUID is the UUID that stands for old in copy k of a data set built
// from seed: a version 4 (random) UUID whose bits come from a hash of the
// three, so that the same old UUID maps to the same new one wherever, and in
// whatever order, it is met.
func copyUUID(seed int64, k int, old string) string {
	var pre [16]byte
	binary.BigEndian.PutUint64(pre[0:8], uint64(seed))
	binary.BigEndian.PutUint64(pre[8:16], uint64(k))
	h := sha256.New()
	h.Write(pre[:])
	h.Write([]byte(old))
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}
