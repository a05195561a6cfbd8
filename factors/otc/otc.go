// Package otc is the one-time code that the text message, voice and email
// factors send. A code is drawn uniformly at random and never kept: the
// enrollment holds only a 64-bit HMAC of it (Counter) under a key of its
// own, and its expiry (ExpiresAt). The next code sent replaces it, and the
// first login that enters it before it expires consumes it in one store
// transaction.
//
// The enrollment's secret, which the store seals and never lets change,
// holds that key and the destination (the phone number or the address):
// a new number is a new device, verified anew.
package otc

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"radiusmfa/factors"
	"radiusmfa/store"
)

// Defaults of Options.
const (
	DefaultDigits = 6
	DefaultTTL    = 10 * time.Minute
	MinDigits     = 6
	MaxDigits     = 8
)

// ErrExpired is the refusal of a code entered after its expiry. It is a
// factors.ErrInvalidCode, so a caller that does not tell them apart counts
// it as a wrong code.
var ErrExpired = fmt.Errorf("otc: %w; ask for a new one (%w)", factors.ErrExpired, factors.ErrInvalidCode)

// ErrNotSendable is returned by Issue for an enrollment of another kind,
// or a disabled one.
var ErrNotSendable = errors.New("otc: no enabled device of this kind")

// Updater is the part of the store Codes needs.
type Updater interface {
	UpdateEnrollment(ctx context.Context, user, id string, fn func(*store.Enrollment) error) error
}

// Options tune Codes. Zero fields take the defaults.
type Options struct {
	Digits int           // MinDigits to MaxDigits; default 6
	TTL    time.Duration // how long a code is good for; default 10 minutes
	Now    func() time.Time
	Rand   io.Reader // nil: crypto/rand
}

// Codes issues and checks the codes of the enrollments of one kind.
type Codes struct {
	store Updater
	kind  string
	o     Options
	space *big.Int // 10^Digits
}

// New returns the Codes of enrollments of kind, kept in s.
func New(s Updater, kind string, o Options) (*Codes, error) {
	if o.Digits == 0 {
		o.Digits = DefaultDigits
	}
	if o.Digits < MinDigits || o.Digits > MaxDigits {
		return nil, fmt.Errorf("otc: %d digits: codes have %d to %d", o.Digits, MinDigits, MaxDigits)
	}
	if o.TTL < 0 {
		return nil, fmt.Errorf("otc: negative code lifetime %s", o.TTL)
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	space := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(o.Digits)), nil)
	return &Codes{store: s, kind: kind, o: o, space: space}, nil
}

// Kind implements factors.Factor.
func (c *Codes) Kind() string { return c.kind }

// Digits is the length of the codes.
func (c *Codes) Digits() int { return c.o.Digits }

// NewEnrollment returns a new enrollment of kind for user, sending to
// destination (an E.164 number or an address, checked by the caller),
// with a fresh key for its codes.
func NewEnrollment(user, id, kind, label, destination string, r io.Reader) (store.Enrollment, error) {
	if destination == "" || len(destination) > maxDestination {
		return store.Enrollment{}, fmt.Errorf("otc: destination of %d bytes (1 to %d)", len(destination), maxDestination)
	}
	if r == nil {
		r = rand.Reader
	}
	secret := make([]byte, 1+keySize, 1+keySize+len(destination))
	secret[0] = secretVersion
	if _, err := io.ReadFull(r, secret[1:]); err != nil {
		return store.Enrollment{}, fmt.Errorf("otc: random key: %w", err)
	}
	return store.Enrollment{ID: id, User: user, Kind: kind, Label: label, Secret: append(secret, destination...)}, nil
}

// Destination is where e's codes go.
func Destination(e store.Enrollment) (string, error) {
	_, dest, err := open(e.Secret)
	return dest, err
}

// Issue draws a new code for the enrollment id of user, stores its HMAC
// and expiry in place of any earlier code (which stops working), and
// returns the code to send and when it expires.
func (c *Codes) Issue(ctx context.Context, user, id string) (code string, expires time.Time, err error) {
	code, err = randomCode(c)
	if err != nil {
		return "", time.Time{}, err
	}
	expires = c.o.Now().Add(c.o.TTL).Truncate(time.Second)
	err = c.store.UpdateEnrollment(ctx, user, id, func(e *store.Enrollment) error {
		if e.Kind != c.kind || e.Disabled {
			return ErrNotSendable
		}
		key, _, err := open(e.Secret)
		if err != nil {
			return err
		}
		e.Counter, e.ExpiresAt = tag(key, code, expires), expires
		return nil
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return code, expires, nil
}

// randomCode draws a code of c's length, uniformly: no code is more
// likely than another.
func randomCode(c *Codes) (string, error) {
	v, err := rand.Int(c.o.Rand, c.space)
	if err != nil {
		return "", fmt.Errorf("otc: random code: %w", err)
	}
	return fmt.Sprintf("%0*d", c.o.Digits, v), nil
}

// Verify implements factors.Factor: code must be the enrollment's current
// code, entered before it expires. It is then consumed, re-checked on the
// stored record in the same transaction, so of logins racing with one code
// only one wins (the others get factors.ErrReplayed). A wrong code writes
// nothing; the right code after its expiry is ErrExpired.
func (c *Codes) Verify(ctx context.Context, e store.Enrollment, code string) error {
	if e.Kind != c.kind || e.Disabled || !factors.IsDigits(code, c.o.Digits) {
		return factors.ErrInvalidCode
	}
	now := c.o.Now()
	if err := c.check(e, code, now); err != nil {
		return err
	}
	return c.store.UpdateEnrollment(ctx, e.User, e.ID, func(cur *store.Enrollment) error {
		if cur.Counter == 0 {
			return factors.ErrReplayed // consumed since e was read
		}
		if err := c.check(*cur, code, now); err != nil {
			return err // replaced by a newer code since e was read
		}
		cur.Counter, cur.ExpiresAt, cur.LastUsedAt = 0, time.Time{}, now
		return nil
	})
}

// Pending reports whether e holds a code that has not expired, and when it
// expires.
func (c *Codes) Pending(e store.Enrollment) (time.Time, bool) {
	if e.Counter == 0 || !c.o.Now().Before(e.ExpiresAt) {
		return time.Time{}, false
	}
	return e.ExpiresAt, true
}

// check compares code with e's current code, in constant time.
func (c *Codes) check(e store.Enrollment, code string, now time.Time) error {
	key, _, err := open(e.Secret)
	if err != nil {
		return err
	}
	if e.Counter == 0 {
		return factors.ErrInvalidCode // no code outstanding
	}
	var want, got [8]byte
	putTag(want[:], e.Counter)
	putTag(got[:], tag(key, code, e.ExpiresAt))
	switch {
	case subtle.ConstantTimeCompare(want[:], got[:]) != 1:
		return factors.ErrInvalidCode
	case !now.Before(e.ExpiresAt):
		return ErrExpired
	}
	return nil
}

// tag is the 64-bit HMAC-SHA256 of a code and its expiry under key; never
// 0, which means no code.
func tag(key []byte, code string, expires time.Time) uint64 {
	mac := hmac.New(sha256.New, key)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(expires.Unix()))
	mac.Write(b[:])
	mac.Write([]byte(code))
	return max(binary.BigEndian.Uint64(mac.Sum(nil)), 1)
}

func putTag(b []byte, t uint64) { binary.BigEndian.PutUint64(b, t) }

// An enrollment's secret is a version byte, the key of its codes, then
// the destination.
const (
	secretVersion  = 1
	keySize        = 32
	maxDestination = 320
)

func open(secret []byte) (key []byte, destination string, err error) {
	if len(secret) <= 1+keySize || secret[0] != secretVersion {
		return nil, "", fmt.Errorf("otc: malformed secret of %d bytes (want version %d, a %d-byte key and a destination)", len(secret), secretVersion, keySize)
	}
	return secret[1 : 1+keySize], string(secret[1+keySize:]), nil
}
