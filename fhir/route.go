package fhir

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
)

// Routes is the number of routes: the values a resource's route takes. On
// Citus every table is distributed by route, so resources with the same
// route share a shard group; a patient's compartment has its patient's
// route. 65,536 routes spread any realistic number of patients evenly over
// shards and leave shard splits room to work.
const Routes = 1 << 16

// RouteOf returns the route an id names. A lowercase UUID names the route
// in its first four hex digits, which is how server-assigned ids carry
// their patient's route (see NewID); any other id is hashed. The same
// function exists in SQL as hce_route(text), created by the migrations, and
// the two must agree.
func RouteOf(id string) int32 {
	if IsUUID(id) {
		b, _ := hex.DecodeString(id[:4])
		return int32(binary.BigEndian.Uint16(b))
	}
	// md5 spreads ids evenly and PostgreSQL has it built in; it routes, it
	// protects nothing.
	sum := md5.Sum([]byte(id))
	return int32(binary.BigEndian.Uint16(sum[:2]))
}

// NewID returns a new random id (a version 4 UUID) whose route is route, so
// that a resource created for a patient lands in the patient's shard group
// and a read by id finds it there without a lookup.
func NewID(route int32) string {
	b := randomUUID()
	binary.BigEndian.PutUint16(b[:2], uint16(route))
	return FormatUUID(b)
}

// RandomID returns a new random id (a version 4 UUID) on a random route.
func RandomID() string { return FormatUUID(randomUUID()) }

func randomUUID() [16]byte {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("fhir: no randomness: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return b
}

// FormatUUID writes b in the 8-4-4-4-12 lowercase hex form of a UUID.
func FormatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// IsUUID reports whether id has the 8-4-4-4-12 form of a UUID in lowercase
// hex, as the server assigns ids and Synthea writes them.
func IsUUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
