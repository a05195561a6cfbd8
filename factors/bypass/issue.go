package bypass

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"radiusmfa/factors/internal/codehash"
	"radiusmfa/store"
)

// Limits of a Request. A bypass code gets a user in without their device, so
// it is short-lived and counted.
const (
	MaxUses    = 100
	MinTTL     = time.Minute
	MaxTTL     = 30 * 24 * time.Hour
	DefaultTTL = time.Hour
)

// SaltSize is the length of the random salt at the start of Secret.
const SaltSize = codehash.SaltSize

// Label names a bypass-code enrollment in lists.
const Label = "bypass code"

// Request is what a help-desk operator asks for.
type Request struct {
	Uses int           // logins allowed, 1 to MaxUses; 0: one
	TTL  time.Duration // lifetime, MinTTL to MaxTTL; 0: DefaultTTL
	By   string        // the operator, recorded as CreatedBy
}

// Issue makes a bypass code for user valid from now for r.TTL and r.Uses
// logins, and the enrollment to store for it. The code is returned in plain
// text to be given to the user once; the enrollment keeps only its digest.
func Issue(user string, r Request, now time.Time) (store.Enrollment, string, error) {
	return issue(user, r, now, rand.Reader)
}

// Invariant: Secret is a 16-byte salt followed by HMAC-SHA256(salt, code),
// never the code itself. (TestInvariantSecretHoldsNoCode)
func issue(user string, r Request, now time.Time, rnd io.Reader) (store.Enrollment, string, error) {
	uses, ttl, err := r.limits()
	if err != nil {
		return store.Enrollment{}, "", err
	}
	code, err := codehash.Random(rnd)
	if err != nil {
		return store.Enrollment{}, "", fmt.Errorf("bypass: %w", err)
	}
	salt := make([]byte, SaltSize)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return store.Enrollment{}, "", fmt.Errorf("bypass: random salt: %w", err)
	}
	var idb [8]byte
	if _, err := io.ReadFull(rnd, idb[:]); err != nil {
		return store.Enrollment{}, "", fmt.Errorf("bypass: random id: %w", err)
	}
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	e := store.Enrollment{
		ID: hex.EncodeToString(idb[:]), User: user, Kind: Kind, Label: Label,
		Secret: codehash.Seal(salt, code), CreatedAt: now,
		MaxUses: uses, ExpiresAt: now.Add(ttl), CreatedBy: r.By,
	}
	return e, code, nil
}

// limits returns the request's uses and lifetime with defaults applied, or
// an error naming the allowed range.
func (r Request) limits() (int, time.Duration, error) {
	uses, ttl := r.Uses, r.TTL
	if uses == 0 {
		uses = 1
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if uses < 1 || uses > MaxUses {
		return 0, 0, fmt.Errorf("bypass: %d uses requested (want 1 to %d)", r.Uses, MaxUses)
	}
	if ttl < MinTTL || ttl > MaxTTL {
		return 0, 0, fmt.Errorf("bypass: lifetime %s requested (want 1 minute to 30 days)", r.TTL)
	}
	return uses, ttl, nil
}
