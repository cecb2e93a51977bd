package bench

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/hce-fhir/hce/fhir"
)

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
	return fhir.FormatUUID(b)
}
