package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// LocalIssuer is the iss of tokens minted with the server's own key.
const LocalIssuer = "urn:hce:local"

// DefaultAudience is the aud of locally minted tokens when no audience is
// configured.
const DefaultAudience = "hce"

// KeyFile is the name of the server's own signing key in the data dir.
const KeyFile = "token-key.pem"

// Issuer mints tokens with the server's own key, for development, tests and
// small sites without an identity provider.
type Issuer struct {
	key      crypto.Signer
	alg      jose.SignatureAlgorithm
	kid      string
	audience string
}

// LoadOrCreateKey reads the PEM private key at path, or, when there is none,
// generates an ES256 (P-256) key and writes it there with mode 0600 in a
// directory of mode 0700. It accepts EC (SEC1 or PKCS#8) and RSA (PKCS#1 or
// PKCS#8) keys, as a Kubernetes Secret may hold either.
func LoadOrCreateKey(path string) (crypto.Signer, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read key: %w", err)
	}
	return parseKey(path, raw)
}

// LoadKey reads the PEM private key at path; it fails when there is none.
func LoadKey(path string) (crypto.Signer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read key: %w", err)
	}
	return parseKey(path, raw)
}

func createKey(path string) (crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("auth: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("auth: encode key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("auth: key dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadKey(path) // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("auth: write key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("auth: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("auth: write key: %w", err)
	}
	return key, nil
}

func parseKey(path string, raw []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("auth: %s: no PEM block", path)
	}
	var key any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("auth: %s: unsupported PEM block %q", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: %s: %w", path, err)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("auth: %s: EC keys must be P-256 (ES256)", path)
		}
		return k, nil
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("auth: %s: RSA keys must have at least 2048 bits", path)
		}
		return k, nil
	}
	return nil, fmt.Errorf("auth: %s: only EC P-256 and RSA keys are supported", path)
}

// NewIssuer returns an Issuer signing with key (ECDSA P-256 or RSA) for
// audience; empty means DefaultAudience.
func NewIssuer(key crypto.Signer, audience string) (*Issuer, error) {
	if audience == "" {
		audience = DefaultAudience
	}
	iss := &Issuer{key: key, audience: audience}
	switch key.(type) {
	case *ecdsa.PrivateKey:
		iss.alg = jose.ES256
	case *rsa.PrivateKey:
		iss.alg = jose.RS256
	default:
		return nil, errors.New("auth: the signing key must be ECDSA P-256 or RSA")
	}
	pub := jose.JSONWebKey{Key: key.Public(), Algorithm: string(iss.alg), Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("auth: key thumbprint: %w", err)
	}
	iss.kid = fmt.Sprintf("%x", tp[:8])
	return iss, nil
}

// Audience returns the aud of the tokens the issuer mints.
func (iss *Issuer) Audience() string { return iss.audience }

// JWKS returns the issuer's public key as a JWKS.
func (iss *Issuer) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{iss.publicKey()}}
}

func (iss *Issuer) publicKey() jose.JSONWebKey {
	return jose.JSONWebKey{Key: iss.key.Public(), KeyID: iss.kid, Algorithm: string(iss.alg), Use: "sig"}
}

// Verifier returns a Verifier of the issuer's own tokens.
func (iss *Issuer) Verifier() *Verifier {
	return NewVerifier(LocalIssuer, iss.audience, staticKeys{iss.kid: iss.publicKey()})
}

// TokenRequest is what a minted token says.
type TokenRequest struct {
	// Scope is the space-separated scope claim.
	Scope string
	// Patient is the patient claim, the patient a patient/ scope is bound to.
	Patient string
	// Subject is the sub claim; empty means "hce-token".
	Subject string
	// FHIRUser is the fhirUser claim, if any.
	FHIRUser string
	// TTL is how long the token is valid; zero means one hour.
	TTL time.Duration
}

// Mint returns a signed JWT for req.
func (iss *Issuer) Mint(req TokenRequest) (string, error) {
	if req.TTL <= 0 {
		req.TTL = time.Hour
	}
	if req.Subject == "" {
		req.Subject = "hce-token"
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: iss.alg, Key: iss.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), iss.kid))
	if err != nil {
		return "", fmt.Errorf("auth: signer: %w", err)
	}
	now := time.Now()
	std := jwt.Claims{Issuer: LocalIssuer, Subject: req.Subject, Audience: jwt.Audience{iss.audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(now.Add(req.TTL)), ID: uuid.NewString()}
	extra := map[string]any{"scope": req.Scope, "client_id": "hce"}
	if req.Patient != "" {
		extra["patient"] = req.Patient
	}
	if req.FHIRUser != "" {
		extra["fhirUser"] = req.FHIRUser
	}
	tok, err := jwt.Signed(signer).Claims(std).Claims(extra).Serialize()
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return tok, nil
}
