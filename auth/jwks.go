package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// KeySet is a JWKS fetched over HTTP and cached. An unknown key id makes it
// fetch again, at most once per MinRefresh, so a token signed with a
// rotated-in key is accepted at once while a flood of tokens with made-up
// key ids cannot make HCE hammer the issuer. The set is also refreshed when
// older than MaxAge.
type KeySet struct {
	url    string
	client *http.Client
	// MinRefresh is the shortest interval between two fetches (default 10s).
	MinRefresh time.Duration
	// MaxAge is how long a fetched set is used before it is fetched again
	// on the next lookup (default 1h).
	MaxAge time.Duration

	mu      sync.Mutex
	keys    map[string]jose.JSONWebKey
	fetched time.Time // last attempt
	loaded  time.Time // last success
	gen     atomic.Uint64
}

// Generation counts the successful fetches of the set.
func (k *KeySet) Generation() uint64 { return k.gen.Load() }

// NewKeySet returns a KeySet for the JWKS at url; client nil means a client
// with a 10s timeout.
func NewKeySet(url string, client *http.Client) *KeySet {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &KeySet{url: url, client: client, MinRefresh: 10 * time.Second, MaxAge: time.Hour}
}

// Key returns the public key with id kid, fetching the set when kid is
// unknown or the set is stale and the rate limit allows.
func (k *KeySet) Key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.lookup(kid)
	stale := time.Since(k.loaded) > k.MaxAge
	if ok && !stale {
		return key, nil
	}
	if time.Since(k.fetched) < k.MinRefresh {
		if ok {
			return key, nil
		}
		return jose.JSONWebKey{}, fmt.Errorf("auth: unknown signing key %q", kid)
	}
	k.fetched = time.Now()
	keys, err := k.fetch(ctx)
	if err != nil {
		if ok {
			return key, nil // keep using a known key while the issuer is away
		}
		return jose.JSONWebKey{}, err
	}
	k.keys, k.loaded = keys, time.Now()
	k.gen.Add(1)
	if key, ok := k.lookup(kid); ok {
		return key, nil
	}
	return jose.JSONWebKey{}, fmt.Errorf("auth: unknown signing key %q", kid)
}

// lookup finds kid; a token without kid matches a set of exactly one key.
func (k *KeySet) lookup(kid string) (jose.JSONWebKey, bool) {
	if kid == "" && len(k.keys) == 1 {
		for _, key := range k.keys {
			return key, true
		}
	}
	key, ok := k.keys[kid]
	return key, ok
}

func (k *KeySet) fetch(ctx context.Context) (map[string]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: jwks %s: %w", k.url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("auth: jwks %s: %w", k.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("auth: jwks %s: status %d", k.url, resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("auth: jwks %s: %w", k.url, err)
	}
	keys := map[string]jose.JSONWebKey{}
	for _, key := range set.Keys {
		if !key.Valid() || !key.IsPublic() || (key.Use != "" && key.Use != "sig") {
			continue // private or symmetric keys have no place in a JWKS
		}
		keys[key.KeyID] = key
	}
	return keys, nil
}

// staticKeys is a fixed key set: the server's own key.
type staticKeys map[string]jose.JSONWebKey

func (s staticKeys) Key(_ context.Context, kid string) (jose.JSONWebKey, error) {
	if kid == "" && len(s) == 1 {
		for _, k := range s {
			return k, nil
		}
	}
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return jose.JSONWebKey{}, fmt.Errorf("auth: unknown signing key %q", kid)
}
