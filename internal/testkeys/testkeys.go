// Package testkeys makes signing keys for the tests of token verification:
// real keys, generated for each test.
package testkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
)

// New returns a fresh EC P-256 key (for ES256), or an RSA 2048 key (for
// RS256) when rsaKey is set.
func New(rsaKey bool) (crypto.Signer, error) {
	if rsaKey {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}
